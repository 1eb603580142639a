"""One perceptor's look at an image: draw cutouts and augmentations, then embed them in one batch.

Split as draw → apply (STYLE habit 7) so that a step's randomness can be drawn up front (for gradient
accumulation, resume and tests) and the embedding itself is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint

from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.augment import AugmentParams, apply_pixel_augmentations, apply_warp, sample_augmentations
from dreamloom.perception.cutouts import CutoutParams, CutoutSettings, apply_cutouts, sample_cutouts

__all__ = ["PerceptorDraw", "draw_views", "embed_views"]


@dataclass(frozen=True)
class PerceptorDraw:
    """The random choices of one perceptor's cutouts: boxes (on the generator's device, so masks can read
    them without a device sync) and augmentations (on the perceptor's device)."""

    cutouts: CutoutParams
    augment: AugmentParams

    def __len__(self) -> int:
        return len(self.cutouts)


def draw_views(
    generator: torch.Generator,
    settings: CutoutSettings,
    count: int,
    image_hw: tuple[int, int],
    perceptor: Perceptor,
) -> PerceptorDraw:
    """Draw ``count`` cutouts at ``perceptor.input_size`` for an image of ``image_hw`` = (H, W)."""
    cutouts = sample_cutouts(
        generator,
        count,
        cut_pow=settings.cut_pow,
        cutout_border=settings.cutout_border,
        border_mode=settings.border_mode,
        device=generator.device,
        image_hw=image_hw,
        cut_size=perceptor.input_size,
    )
    augment = sample_augmentations(
        generator, count, perceptor.input_size, device=perceptor.device, dtype=torch.float32
    )
    return PerceptorDraw(cutouts=cutouts, augment=augment)


def embed_views(
    image: torch.Tensor, draw: PerceptorDraw, perceptor: Perceptor, settings: CutoutSettings
) -> torch.Tensor:
    """Cut, augment and embed all cutouts of ``draw`` as one batch. Shape: [1, 3, H, W] -> [n, D].

    The colour jitter, erasing and noise are recomputed in the backward pass instead of keeping their dozen
    cutout-sized intermediates (about 250 MB at 40 cutouts); they are deterministic given ``draw``, and cheap.
    The warp is not: its backward keeps only its input, so recomputing it would cost time and save nothing.
    """
    cutouts = apply_cutouts(image, draw.cutouts, perceptor.input_size, settings.border_mode)
    warped = apply_warp(cutouts, draw.augment)
    augmented = checkpoint(apply_pixel_augmentations, warped, draw.augment, use_reentrant=False)
    return perceptor.encode_image(augmented)
