"""Conversion of PIL pictures into the [0, 1] tensors the image models store and compare against."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def picture_to_tensor(
    image: Image.Image, size: tuple[int, int], *, device: torch.device | None, dtype: torch.dtype
) -> torch.Tensor:
    """``image`` resized to ``size`` = (width, height) with LANCZOS, as 8-bit values / 255 (pytti's encode).

    Shape: -> [1, 3, height, width]
    """
    resized = image.convert("RGB").resize(size, Image.LANCZOS)
    pixels = torch.from_numpy(np.asarray(resized, dtype=np.uint8).copy())
    return pixels.permute(2, 0, 1)[None].to(device=device, dtype=dtype) / 255
