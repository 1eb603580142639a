"""Tiny VQGAN specs that run through the same code path as the real models, in milliseconds."""

from __future__ import annotations

import torch

from dreamloom.images.vqgan import VQGAN, VQGANSpec

TINY = VQGANSpec(
    name="tiny",
    n_embed=32,
    embed_dim=8,
    ch=8,
    ch_mult=(1, 2),
    num_res_blocks=1,
    attn_resolutions=(8,),
    resolution=16,
    z_channels=8,
    norm_groups=4,
)
# Five levels like the real f16 models (downsample factor 16), still tiny.
TINY_F16 = VQGANSpec(
    name="tiny_f16",
    n_embed=6,
    embed_dim=4,
    ch=4,
    ch_mult=(1, 1, 1, 1, 1),
    num_res_blocks=1,
    attn_resolutions=(16,),
    resolution=256,
    z_channels=4,
    norm_groups=2,
)


def tiny_network(spec: VQGANSpec = TINY, seed: int = 0) -> VQGAN:
    """A randomly initialised network in eval mode, the same for the same seed."""
    torch.manual_seed(seed)
    return VQGAN(spec).eval()


def are_codebook_rows(vectors: torch.Tensor, codebook: torch.Tensor) -> bool:
    """Whether every row of ``vectors`` [N, D] equals (to float precision) a row of ``codebook`` [K, D]."""
    distances = torch.cdist(vectors, codebook, compute_mode="donot_use_mm_for_euclid_dist")
    return bool((distances.min(dim=1).values < 1e-5).all())
