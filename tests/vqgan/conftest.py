"""Fixtures shared by the VQGAN tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from PIL import Image


@pytest.fixture(autouse=True)
def single_thread() -> Iterator[None]:
    """Tiny tensors run fastest on one thread on a shared machine; restore afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def picture() -> Image.Image:
    """A 40×30 smooth colour gradient."""
    y, x = np.mgrid[0:30, 0:40]
    pixels = np.stack([x * 6, y * 8, (x + y) * 3], axis=-1).clip(0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
