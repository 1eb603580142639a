"""Fixtures shared by the VQGAN tests."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture
def picture() -> Image.Image:
    """A 40×30 smooth colour gradient."""
    y, x = np.mgrid[0:30, 0:40]
    pixels = np.stack([x * 6, y * 8, (x + y) * 3], axis=-1).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
