"""Which samples belong to which animation frame, and per-frame maxima gathered from a stream of blocks.

Frame ``k`` of the audio starts at sample ``floor(k · rate / fps)`` (pytti's ``int(t · 44100)`` with
``t = k / fps``) and ends where frame ``k + 1`` starts, so the frames tile the signal without gaps even when
``rate / fps`` is not a whole number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrameGrid:
    """The frame boundaries of a signal sampled at ``rate`` Hz, seen at ``fps`` frames per second."""

    rate: int
    fps: float

    def start(self, frame: np.ndarray | int) -> np.ndarray:
        """First sample of each frame. Shape: same as ``frame``."""
        return np.floor(np.asarray(frame, dtype=np.float64) * self.rate / self.fps).astype(np.int64)

    def frame_of(self, samples: np.ndarray) -> np.ndarray:
        """The frame holding each sample (found through :meth:`start`, so both always agree). Shape: as ``samples``."""
        samples = np.asarray(samples, dtype=np.int64)
        guess = np.floor(samples * self.fps / self.rate).astype(np.int64)
        frames = guess + 1
        while np.any(later := self.start(frames) > samples):
            frames = np.where(later, frames - 1, frames)
        return frames

    def segments(self, begin: int, end: int) -> tuple[int, np.ndarray]:
        """Split samples ``[begin, end)`` at frame starts: the frame of ``begin``, and the offsets (from
        ``begin``) of the frame starts strictly inside. Shape: offsets [n]."""
        first = int(self.frame_of(np.array(begin)))
        last = int(self.frame_of(np.array(end - 1)))
        starts = self.start(np.arange(first + 1, last + 1))
        return first, starts - begin


class FrameMaxima:
    """Running per-frame maxima of several columns, grown as frames arrive. Shape: [frames, columns]."""

    def __init__(self, columns: int) -> None:
        self._values = np.zeros((0, columns))

    def add(self, frames: np.ndarray, values: np.ndarray) -> None:
        """Fold ``values`` [n, columns] into the rows ``frames`` [n] (any order, repeats allowed)."""
        if len(frames) == 0:
            return
        needed = int(frames.max()) + 1
        if needed > len(self._values):
            grown = np.zeros((max(needed, 2 * len(self._values)), self._values.shape[1]))
            grown[: len(self._values)] = self._values
            self._values = grown
        np.maximum.at(self._values, frames, values)

    def result(self, frame_count: int) -> np.ndarray:
        """The maxima of frames 0 … ``frame_count`` − 1 (0 for a frame nothing reached). Shape: [frames, columns]."""
        out = np.zeros((frame_count, self._values.shape[1]))
        rows = min(frame_count, len(self._values))
        out[:rows] = self._values[:rows]
        return out


def blocks(chunks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of sample chunks into blocks of exactly ``size`` samples (the last may be shorter)."""
    pending: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held < size:
            continue
        joined = np.concatenate(pending)
        whole = len(joined) - len(joined) % size
        yield from joined[:whole].reshape(-1, size)
        pending, held = [joined[whole:]], len(joined) - whole
    if held:
        yield np.concatenate(pending)
