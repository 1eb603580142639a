"""dreamloom's own VQGAN first stage (taming-transformers compatible weights) and the VQGAN image model."""

from __future__ import annotations

from dreamloom.images.vqgan.image import VQGANImage
from dreamloom.images.vqgan.loading import load_network, load_vqgan
from dreamloom.images.vqgan.network import VQGAN
from dreamloom.images.vqgan.registry import get_spec, list_models
from dreamloom.images.vqgan.spec import VQGANSpec

__all__ = ["VQGAN", "VQGANImage", "VQGANSpec", "get_spec", "list_models", "load_network", "load_vqgan"]
