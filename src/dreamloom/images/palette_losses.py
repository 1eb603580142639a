"""The Limited Palette model's own regularisers as small modules.

They are modules (not bare functions) only so that their constants sit in the image's ``state_dict``
under pytti's backup keys ``hdr_loss.comp``, ``hdr_loss.weight`` and ``loss.weight`` (image-models.md §2.5).
"""

from __future__ import annotations

import torch
from torch import nn

from dreamloom.images.palette_math import hdr_raw, hdr_target, palette_normalization_raw


class HdrLoss(nn.Module):
    """Pulls each palette's sorted brightness profile toward the gamma curve (pytti ``HdrLoss``, §5.6)."""

    comp: torch.Tensor
    weight: torch.Tensor

    def __init__(self, palette_size: int, palettes: int, gamma: float, weight: float, *,
                 device: torch.device | None, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("comp", hdr_target(palette_size, palettes, gamma, device=device, dtype=dtype))
        self.register_buffer("weight", torch.tensor(float(weight), device=device, dtype=dtype))

    def raw(self, sorted_palette: torch.Tensor) -> torch.Tensor:
        """Unweighted loss. Shape: [P, N, 3] -> []"""
        return hdr_raw(sorted_palette, self.comp)

    def forward(self, sorted_palette: torch.Tensor) -> torch.Tensor:
        """Weighted loss. Shape: [P, N, 3] -> []"""
        return self.weight * self.raw(sorted_palette)


class PaletteNormLoss(nn.Module):
    """Keeps palette usage decorrelated and varied across pixels (pytti ``PalletLoss``, §5.6)."""

    weight: torch.Tensor

    def __init__(self, weight: float, *, device: torch.device | None, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("weight", torch.tensor(float(weight), device=device, dtype=dtype))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """Weighted loss. Shape: [N, H, W] -> []"""
        return self.weight * palette_normalization_raw(logits)
