"""Depth stabilization: the picture's depth should match the previous frame's depth moved by the camera.

pytti (animation-losses-outputs §6.5) compared AdaBins metres of the picture with those of the target.
Depth Anything predicts nearness only up to scale and shift, so the comparison here is invariant to both:
the target is standardised, the prediction fitted to it by least squares with a scale of at least 0
(Ranftl et al. 2020, MiDaS's scale-and-shift-invariant loss), and the loss is the mean squared residual. It
lies in [0, 1]: 0 when the depth maps agree up to scale and shift, 1 when the prediction explains nothing of
the target or has it inside out (near where it should be far).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_TINY = 1e-12


def _weights(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights: the mask resized (bilinear) to ``like``'s size, or ones."""
    if mask is None:
        return torch.ones_like(like)
    if mask.shape[-2:] != like.shape[-2:]:
        mask = F.interpolate(mask, size=like.shape[-2:], mode="bilinear", align_corners=False)
    return mask.to(like.dtype).expand_as(like)


def depth_loss(nearness: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scale-and-shift-invariant squared error of predicted ``nearness`` against ``target`` nearness.

    Both are relative nearness (larger is nearer); ``mask`` weights the pixels. Differentiable in
    ``nearness`` (through the fitted scale and shift too).
    Shape: nearness [1, 1, H, W], target [1, 1, H, W], mask [1, 1, h, w] or None -> []
    """
    weights = _weights(mask, target)
    total = weights.sum().clamp_min(_TINY)

    def mean(values: torch.Tensor) -> torch.Tensor:
        return (weights * values).sum() / total

    target_centred = target - mean(target)
    spread = mean(target_centred.square()).sqrt().clamp_min(_TINY)
    standard = target_centred / spread
    centred = nearness - mean(nearness)
    scale = (mean(centred * standard) / mean(centred.square()).clamp_min(_TINY)).clamp_min(0)
    return mean((scale * centred - standard).square())
