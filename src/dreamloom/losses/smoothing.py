"""Total-variation smoothing (pytti ``TVLoss``; image-models.md §7.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean of squared forward differences, with the last row and column replicated (so their terms are 0).

    Shape: [B, C, H, W] -> [B]
    """
    padded = F.pad(image, (0, 1, 0, 1), mode="replicate")
    dx = padded[..., :-1, 1:] - padded[..., :-1, :-1]
    dy = padded[..., 1:, :-1] - padded[..., :-1, :-1]
    return (dx.square() + dy.square()).mean(dim=(1, 2, 3))
