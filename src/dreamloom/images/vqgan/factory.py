"""Build the VQGAN image model from settings: the one place that reads the VQGAN-related settings."""

from __future__ import annotations

import torch

from dreamloom.images.vqgan.image import VQGANImage
from dreamloom.images.vqgan.loading import load_vqgan
from dreamloom.settings.schema import Settings


def build_vqgan_image(settings: Settings, width: int, height: int, device: torch.device) -> VQGANImage:
    """``vqgan_model``'s network from the cache under ``models_parent_dir`` (downloaded if missing and
    allowed), wrapped as an image of ``width`` × ``height`` × ``pixel_size`` pixels. Not yet initialised:
    the caller runs ``encode_random`` or ``encode_image``.
    """
    network = load_vqgan(settings.vqgan_model.value, settings.models_parent_dir, device=device)
    return VQGANImage(network, width, height, settings.pixel_size)
