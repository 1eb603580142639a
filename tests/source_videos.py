"""Source videos made by the tests with PyAV: a textured square moving 3 px per frame, with a sound track."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

STEP = 3
"""Pixels the square moves to the right each frame."""


def texture(size: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (8×8 random colours, repeated into blocks of size/8). Shape: [size, size, 3]"""
    colours = np.random.default_rng(seed).integers(30, 226, size=(8, 8, 3), dtype=np.uint8)
    return np.kron(colours, np.ones((size // 8, size // 8, 1), dtype=np.uint8))


def square_frame(index: int, size: tuple[int, int] = (64, 64), square: int = 24, seed: int = 0, field: int = 128) -> np.ndarray:
    """Frame ``index``: a textured square at x = 4 + 3·index on a ``field`` grey with a textured floor (the part
    of the square past the right edge is cut off).

    Shape: -> [H, W, 3] uint8
    """
    height, width = size
    frame = np.full((height, width, 3), field, dtype=np.uint8)
    frame[height - 8 :] = texture(width, seed + 1)[:8]
    left, top = 4 + STEP * index, (height - square) // 2
    shown = max(0, min(square, width - left))  # the square leaves the picture on the right
    frame[top : top + square, left : left + shown] = texture(square, seed)[:square, :shown]
    return frame


def write_video(path: Path, frames: list[np.ndarray], *, fps: int = 12, sound: bool = True) -> Path:
    """An mp4 of ``frames`` (lossless H.264 at ``fps``), with a 440 Hz tone as its AAC sound track."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "rgb24"
        stream.options = {"crf": "0", "preset": "ultrafast"}
        audio = container.add_stream("aac", rate=16000) if sound else None
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
        if audio is not None:
            seconds = len(frames) / fps
            samples = np.sin(2 * np.pi * 440 * np.arange(int(16000 * seconds)) / 16000).astype(np.float32)
            tone = av.AudioFrame.from_ndarray(samples[None], format="fltp", layout="mono")
            tone.sample_rate = 16000
            container.mux(audio.encode(tone))
            container.mux(audio.encode())
    return path


def moving_square(path: Path, count: int = 24, *, size: tuple[int, int] = (64, 64), cut_at: int | None = None,
                  fps: int = 12, sound: bool = True) -> Path:
    """``count`` frames of the moving square; from frame ``cut_at`` on, a different, darker scene (a hard cut)."""
    frames = [square_frame(index, size) for index in range(count)]
    if cut_at is not None:
        frames[cut_at:] = [square_frame(index, size, seed=7, field=20)[::-1] for index in range(cut_at, count)]
    return write_video(path, frames, fps=fps, sound=sound)
