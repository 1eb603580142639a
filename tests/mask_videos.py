"""Mask videos made by the tests with PyAV: greyscale frames written as a lossless H.264 mp4."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np


def write_mask_video(path: Path, frames: Sequence[np.ndarray]) -> Path:
    """An mp4 whose frames are ``frames`` (uint8 [H, W] grey levels, even sides), 12 frames per second."""
    height, width = frames[0].shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "0", "preset": "ultrafast"}
        for grey in frames:
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def black_white_half(size: tuple[int, int] = (16, 16)) -> list[np.ndarray]:
    """Three frames: black, white, and white on the left half only. Shape: each [H, W] uint8."""
    width = size[1]
    half = np.zeros(size, dtype=np.uint8)
    half[:, : width // 2] = 255
    return [np.zeros(size, dtype=np.uint8), np.full(size, 255, dtype=np.uint8), half]
