"""The architecture of one VQGAN first stage as plain data (the weights are in the models registry)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class VQGANSpec:
    """Hyper-parameters of taming's ``VQModel`` / ``GumbelVQ`` (image-models.md §6.3).

    ``weights`` names the checkpoint in :mod:`dreamloom.models.registry` (None for test-only specs);
    ``state_dict_prefix`` is stripped from checkpoint keys (``first_stage_model.`` for sflckr, whose
    checkpoint holds a whole transformer). ``norm_groups`` is 32 in every real model; tiny test networks
    lower it to keep channel counts small.
    """

    name: str
    n_embed: int
    embed_dim: int = 256
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 2, 4)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    resolution: int = 256
    z_channels: int = 256
    in_channels: int = 3
    out_ch: int = 3
    gumbel: bool = False
    norm_groups: int = 32
    weights: str | None = None
    state_dict_prefix: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def downsample_factor(self) -> int:
        """Pixels per latent token along each side: 2^(levels − 1) (pytti's ``f``)."""
        return 2 ** (len(self.ch_mult) - 1)
