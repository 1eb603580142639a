"""Codebooks of the VQGAN first stage and the nearest-code quantisation pytti decodes through.

Parameter names match taming's ``VectorQuantizer2`` (``embedding``) and ``GumbelQuantize`` (``proj``,
``embed``). pytti quantises every latent by nearest codebook vector with a straight-through gradient, for
Gumbel models too (image-models.md §6.6); the Gumbel logits are only used to encode pictures.
"""

from __future__ import annotations

import torch
from torch import nn

from dreamloom.draws import uniform
from dreamloom.images.grad_tricks import replace_grad


def nearest_code_indices(latent: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the closest codebook row for every vector in the last dimension.

    Distance ``|x|² + |e_k|² − 2 x·e_k`` (taming ``VectorQuantizer2``; pytti ``vector_quantize``).
    Shape: latent [..., D], codebook [K, D] -> [...] (int64)
    """
    flat = latent.reshape(-1, latent.shape[-1])
    distances = (
        flat.pow(2).sum(dim=1, keepdim=True) + codebook.pow(2).sum(dim=1) - 2 * flat @ codebook.T
    )
    return distances.argmin(dim=1).reshape(latent.shape[:-1])


def vector_quantize(latent: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Replace every vector by its nearest codebook row; the gradient passes straight through to ``latent``.

    Shape: latent [..., D], codebook [K, D] -> [..., D]
    """
    quantized = codebook[nearest_code_indices(latent.detach(), codebook)]
    return replace_grad(quantized, latent)


class VectorQuantizer(nn.Module):
    """taming's ``VectorQuantizer2`` state: a learned codebook of ``n_embed`` vectors.

    Shape: forward [B, D, h, w] -> [B, D, h, w] (nearest codes)
    """

    def __init__(self, n_embed: int, embed_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_embed, embed_dim)

    @property
    def codebook(self) -> torch.Tensor:
        """Shape: [n_embed, embed_dim]"""
        return self.embedding.weight

    def forward(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Nearest codes; ``generator`` is accepted for a common signature with the Gumbel quantiser."""
        channels_last = z.permute(0, 2, 3, 1)
        return self.codebook[nearest_code_indices(channels_last, self.codebook)].permute(0, 3, 1, 2)


class GumbelQuantizer(nn.Module):
    """taming's ``GumbelQuantize`` state: a 1×1 conv to code logits and the code embedding.

    Encoding picks the most likely code, or (with a ``generator``) a hard Gumbel-softmax sample at
    temperature 1 like taming in eval mode — pytti's stochastic encoding.
    Shape: forward [B, num_hiddens, h, w] -> [B, embed_dim, h, w]
    """

    def __init__(self, num_hiddens: int, n_embed: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(num_hiddens, n_embed, 1)
        self.embed = nn.Embedding(n_embed, embed_dim)

    @property
    def codebook(self) -> torch.Tensor:
        """Shape: [n_embed, embed_dim]"""
        return self.embed.weight

    def forward(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        logits = self.proj(z)
        if generator is not None:
            noise = uniform(generator, tuple(logits.shape), generator.device)
            gumbel = -torch.log(-torch.log(noise.clamp_min(1e-20)).clamp_min(1e-20))
            logits = logits + gumbel.to(logits)
        return self.codebook[logits.argmax(dim=1)].permute(0, 3, 1, 2)
