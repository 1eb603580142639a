"""Conversion of PIL pictures into the [0, 1] tensors that image models, prompts and masks work with."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def picture_to_tensor(
    image: Image.Image,
    size: tuple[int, int] | None = None,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``image`` as RGB 8-bit values / 255 (pytti's encode), resized to ``size`` = (width, height) with
    LANCZOS when given (a grey picture gives three equal channels).

    The result keeps the picture's pixel-interleaved memory order (channels-last strides); callers that
    need a contiguous tensor ask for one.
    Shape: -> [1, 3, height, width]
    """
    rgb = image.convert("RGB")
    resized = rgb if size is None else rgb.resize(size, Image.LANCZOS)
    pixels = torch.from_numpy(np.asarray(resized, dtype=np.uint8).copy())
    return pixels.permute(2, 0, 1)[None].to(device=device, dtype=dtype) / 255
