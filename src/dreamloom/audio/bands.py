"""Butterworth band-pass envelopes: each band's peak amplitude per frame, and attack/release smoothing.

pytti filtered each frame's window on its own, starting from a zero filter state, so every value carried
the filter's start-up transient (prompts-and-perceptors.md §7). Here the filter runs over the whole signal
once, block after block with its state carried across, which is exactly the same as filtering the signal
in one piece, and each frame takes the peak of the filtered signal over its own samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from dreamloom.audio.frames import FrameGrid, FrameMaxima


@dataclass(frozen=True)
class Band:
    """One band-pass filter: its variable name, centre and width in Hz, order, and smoothing in seconds."""

    name: str
    f_center: float
    f_width: float
    order: int = 5
    attack: float = 0.0
    release: float = 0.0

    @property
    def edges(self) -> tuple[float, float]:
        """Low and high edge in Hz (pytti's ``centre ∓ width / 2``)."""
        return self.f_center - self.f_width / 2, self.f_center + self.f_width / 2


def band_sos(band: Band, rate: int) -> np.ndarray:
    """The band's Butterworth band-pass as second-order sections (numerically stable at high orders).

    Shape: [order, 6] (a band-pass of order n has 2n poles, in n sections).
    """
    return signal.butter(band.order, band.edges, btype="bandpass", output="sos", fs=rate)


class BandPeaks:
    """Filters a signal block by block (state carried across blocks) and keeps peaks per frame.

    Column 0 of :attr:`maxima` is the unfiltered signal's peak (the waveform), then one column per band.
    """

    def __init__(self, bands: Sequence[Band], grid: FrameGrid) -> None:
        self._sections = [band_sos(band, grid.rate) for band in bands]
        self._states = [np.zeros((sos.shape[0], 2)) for sos in self._sections]
        self._grid = grid
        self.maxima = FrameMaxima(len(bands) + 1)

    def feed(self, block: np.ndarray, begin: int) -> None:
        """Filter ``block``, whose first sample is the signal's sample ``begin``, and fold in its peaks."""
        first, cuts = self._grid.segments(begin, begin + len(block))
        starts = np.concatenate([[0], cuts])
        columns = [np.abs(block)]
        for index, sos in enumerate(self._sections):
            filtered, self._states[index] = signal.sosfilt(sos, block, zi=self._states[index])
            columns.append(np.abs(filtered))
        peaks = np.stack([np.maximum.reduceat(column, starts) for column in columns], axis=1)
        self.maxima.add(first + np.arange(len(starts)), peaks)


def follow(levels: np.ndarray, attack: float, release: float, fps: float) -> np.ndarray:
    """A one-pole envelope follower over per-frame levels, starting from silence.

    Rising, it moves ``1 − exp(−1 / (attack · fps))`` of the way to the new level each frame (time constant
    ``attack`` seconds); falling, the same with ``release``. A time constant of 0 follows at once.
    Shape: levels [frames] → [frames].
    """
    if attack == 0 and release == 0:
        return levels.copy()
    rise, fall = _step(attack, fps), _step(release, fps)
    out = np.empty_like(levels)
    value = 0.0
    for index, level in enumerate(levels):
        value += (rise if level > value else fall) * (level - value)
        out[index] = value
    return out


def _step(seconds: float, fps: float) -> float:
    """The fraction of the way a one-pole follower with time constant ``seconds`` moves in one frame."""
    return 1.0 if seconds == 0 else 1.0 - math.exp(-1.0 / (seconds * fps))
