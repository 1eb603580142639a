"""Shared fixtures for the image-model tests."""


import numpy as np
import pytest
import torch
from PIL import Image

FOUR_COLOURS = np.array([[230, 30, 40], [20, 200, 60], [30, 60, 220], [240, 220, 30]], dtype=np.uint8)


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture
def four_colours() -> torch.Tensor:
    """The four quadrant colours of ``four_colour_picture`` in [0, 1]. Shape: [4, 3]"""
    return torch.from_numpy(FOUR_COLOURS / 255).float()


@pytest.fixture
def four_colour_picture() -> Image.Image:
    """An 8×8 picture made of four flat quadrants of clearly different colours."""
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:4, :4], pixels[:4, 4:] = FOUR_COLOURS[0], FOUR_COLOURS[1]
    pixels[4:, :4], pixels[4:, 4:] = FOUR_COLOURS[2], FOUR_COLOURS[3]
    return Image.fromarray(pixels, "RGB")
