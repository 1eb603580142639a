"""Build the image model a plan asks for (one place that knows every model's settings)."""

from __future__ import annotations

import torch

from dreamloom.images.base import ImageModel
from dreamloom.images.palette import LimitedPaletteImage
from dreamloom.images.rgb import RGBImage
from dreamloom.settings.choices import ImageModelChoice
from dreamloom.settings.schema import Settings


def build_image_model(settings: Settings, width: int, height: int, device: torch.device) -> ImageModel:
    """The model named by ``image_model`` at ``width`` × ``height`` parameter pixels (``-1`` already resolved)."""
    if settings.image_model is ImageModelChoice.LIMITED:
        return LimitedPaletteImage(
            width,
            height,
            settings.pixel_size,
            palette_size=settings.palette_size,
            palettes=settings.palettes,
            gamma=settings.gamma,
            hdr_weight=settings.hdr_weight,
            palette_normalization_weight=settings.palette_normalization_weight,
            random_initial_palette=settings.random_initial_palette,
            device=device,
        )
    if settings.image_model is ImageModelChoice.VQGAN:
        from dreamloom.images.vqgan.factory import build_vqgan_image

        return build_vqgan_image(settings, width, height, device)
    return RGBImage(width, height, settings.pixel_size, device=device)
