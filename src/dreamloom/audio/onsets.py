"""Onsets and beats from spectral flux: how much new energy each short slice of sound brings.

The signal is cut into Hann windows of :data:`WINDOW` samples every :data:`HOP` samples; the flux of a hop is
the sum, over frequency bins, of the rise of log-compressed magnitude since the previous window (Bello et
al. 2005, "A tutorial on onset detection in music", §3.1.1). A band's onset strength sums only the bins of
its band; the beat detector uses every bin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft, ndimage

from dreamloom.audio.bands import Band
from dreamloom.audio.frames import FrameGrid

WINDOW = 2048
"""Samples per spectral window: 46 ms at 44.1 kHz, 21.5 Hz between bins."""

HOP = 512
"""Samples between windows: 11.6 ms at 44.1 kHz, finer than any frame rate an animation uses."""

BEAT_SPACING = 0.1
"""Seconds: a beat is the strongest flux within this distance either side (at most 600 beats a minute)."""

BEAT_CONTEXT = 0.5
"""Seconds either side over which the flux is averaged to judge whether a peak stands out."""

BEAT_MARGIN = 0.1
"""How far above its neighbourhood's mean a beat's flux must be, as a fraction of the track's strongest."""


class SpectralFlux:
    """Streams a signal in blocks of whole hops and returns each hop's flux, per band and over all bins."""

    def __init__(self, bands: Sequence[Band], rate: int) -> None:
        frequencies = fft.rfftfreq(WINDOW, 1 / rate)
        masks = [(frequencies >= low) & (frequencies <= high) for low, high in (band.edges for band in bands)]
        self._masks = np.array(masks, dtype=np.float32).reshape(len(bands), len(frequencies))
        self._window = np.hanning(WINDOW).astype(np.float32)
        self._carry = np.zeros(WINDOW - HOP, np.float32)
        self._last = np.zeros(len(frequencies), np.float32)

    def feed(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The flux of each hop of ``block`` (a whole number of hops): per band, and over all bins.

        Window ``j`` of the signal ends with hop ``j``'s samples. Shape: [hops, bands] and [hops].
        """
        joined = np.concatenate([self._carry, block.astype(np.float32)])
        windows = sliding_window_view(joined, WINDOW)[::HOP]
        magnitudes = np.log1p(np.abs(fft.rfft(windows * self._window, axis=1)))
        rises = np.maximum(np.diff(magnitudes, axis=0, prepend=self._last[None]), 0)
        self._carry = joined[len(joined) - (WINDOW - HOP):]
        self._last = magnitudes[-1]
        return rises @ self._masks.T, rises.sum(axis=1)


def hop_frames(grid: FrameGrid, hops: int) -> np.ndarray:
    """The frame each hop's flux belongs to: that of the last sample of its window. Shape: [hops].

    A sound shows first in the window whose newest hop it starts in, so its onset is never dated before
    it, and at most a hop or two (12–23 ms at 44.1 kHz) after.
    """
    return grid.frame_of((np.arange(hops) + 1) * HOP - 1)


def pick_beats(flux: np.ndarray, rate: int) -> np.ndarray:
    """Hops whose flux is a beat: the largest within :data:`BEAT_SPACING`, and above the mean of the
    surrounding :data:`BEAT_CONTEXT` by :data:`BEAT_MARGIN` of the track's largest flux.

    Shape: flux [hops] → indices [beats], increasing.
    """
    if flux.size == 0 or flux.max() <= 0:
        return np.zeros(0, np.int64)
    level = flux / flux.max()
    spacing = max(1, round(BEAT_SPACING * rate / HOP))
    context = max(1, round(BEAT_CONTEXT * rate / HOP))
    local_max = ndimage.maximum_filter1d(level, 2 * spacing + 1, mode="constant")
    local_mean = ndimage.uniform_filter1d(level, 2 * context + 1, mode="constant")
    is_beat = (level == local_max) & (level >= local_mean + BEAT_MARGIN)
    return np.flatnonzero(is_beat)


def beat_curve(beat_frames: np.ndarray, frame_count: int, half_life: float, fps: float) -> np.ndarray:
    """1 on every frame with a beat, halving every ``half_life`` seconds after it; 0 before the first beat
    (and everywhere but beat frames when ``half_life`` is 0). Shape: [frames]."""
    curve = np.zeros(frame_count)
    beat_frames = beat_frames[beat_frames < frame_count]
    if half_life == 0:
        curve[beat_frames] = 1.0
        return curve
    frames = np.arange(frame_count)
    marked = np.full(frame_count, -1)
    marked[beat_frames] = beat_frames
    last = np.maximum.accumulate(marked)
    return np.where(last >= 0, 0.5 ** ((frames - last) / (fps * half_life)), 0.0)
