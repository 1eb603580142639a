"""A track's per-frame audio variables: band levels, their previous frame, onset strengths and the beat.

:func:`analyse` reads the sound once, block by block (memory stays flat however long the track), and
returns :class:`AudioFrames`, the table a frame hook serves from. The differences from pytti-core
(prompts-and-perceptors.md §7) are deliberate: the filters run over the whole signal rather than each
window from rest, every frame is normalised by the maximum over the frames actually played (from the
offset on), ``_prev`` is the previous frame's value, values exist before the first frame (the first
frame's), and after the sound ends they are 0 instead of stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dreamloom.audio.bands import Band, BandPeaks, follow
from dreamloom.audio.frames import FrameGrid, FrameMaxima, blocks
from dreamloom.audio.onsets import HOP, SpectralFlux, beat_curve, hop_frames, pick_beats
from dreamloom.plan.variables import audio_variable_names

BLOCK = 256 * HOP
"""Samples analysed at a time (3 s at 44.1 kHz): bounds memory, and long enough for vectorised work."""


@dataclass(frozen=True)
class AudioFrames:
    """The audio variables of every frame of a track, from the offset on, at ``fps`` frames per second.

    Shape: levels, onsets [frames, bands] in 0–1; beat [frames] in 0–1; waveform [frames], the peak of
    the mono signal in each frame (full scale 1).
    """

    bands: tuple[str, ...]
    fps: float
    levels: np.ndarray
    onsets: np.ndarray
    beat: np.ndarray
    waveform: np.ndarray

    @property
    def frame_count(self) -> int:
        return len(self.beat)

    @property
    def names(self) -> tuple[str, ...]:
        """The variables, in the order of :meth:`row` and :meth:`table`."""
        return audio_variable_names(self.bands)

    def row(self, frame: int) -> np.ndarray:
        """Every variable at animation frame ``frame``: before frame 0 (pre-animation) the values of frame 0,
        after the sound's last frame 0 (``_prev`` still the frame before). Shape: [variables]."""
        per_band = np.stack([
            self._at(self.levels, frame), self._at(self.levels, max(frame, 1) - 1), self._at(self.onsets, frame),
        ], axis=1)
        return np.append(per_band.reshape(-1), self._at(self.beat[:, None], frame))

    def values_at(self, frame: int) -> dict[str, float]:
        """:meth:`row` by name, as the expressions read it."""
        return dict(zip(self.names, map(float, self.row(frame))))

    def table(self) -> np.ndarray:
        """:meth:`row` for every frame of the sound. Shape: [frames, variables]."""
        previous = np.concatenate([self.levels[:1], self.levels[:-1]])
        per_band = np.stack([self.levels, previous, self.onsets], axis=2).reshape(self.frame_count, -1)
        return np.column_stack([per_band, self.beat])

    def _at(self, series: np.ndarray, frame: int) -> np.ndarray:
        if frame >= len(series):
            return np.zeros(series.shape[1:])
        return series[max(frame, 0)]


def analyse(chunks: Iterable[np.ndarray], *, rate: int, fps: float, bands: Sequence[Band], beat_half_life: float) -> AudioFrames:
    """The per-frame variables of the mono signal ``chunks`` (sampled at ``rate`` Hz) seen at ``fps``.

    Frame ``k`` covers samples ``floor(k·rate/fps)`` up to the next frame's start. A band's level is the peak
    of its band-passed signal in the frame over the largest such peak in the track (pytti's definition),
    then smoothed by its attack and release; its onset is the largest spectral flux of its bins in the frame
    over the track's largest. A signal with no samples has no frames.
    """
    grid = FrameGrid(rate, fps)
    peaks = BandPeaks(bands, grid)
    flux = SpectralFlux(bands, rate)
    band_flux, total_flux = [], []
    position = 0
    for block in blocks(chunks, BLOCK):
        peaks.feed(block, position)
        per_band, total = flux.feed(np.pad(block, (0, -len(block) % HOP)))
        band_flux.append(per_band)
        total_flux.append(total)
        position += len(block)
    frame_count = int(grid.frame_of(np.array(position - 1))) + 1 if position else 0
    maxima = peaks.maxima.result(frame_count)
    levels = _normalised(maxima[:, 1:])
    for column, band in enumerate(bands):
        levels[:, column] = follow(levels[:, column], band.attack, band.release, fps)
    hop_flux = np.concatenate(band_flux) if band_flux else np.zeros((0, len(bands)))
    frames = hop_frames(grid, len(hop_flux))
    inside = frames < frame_count
    onset_peaks = FrameMaxima(len(bands))
    onset_peaks.add(frames[inside], hop_flux[inside])
    beats = pick_beats(np.concatenate(total_flux) if total_flux else np.zeros(0), rate)
    return AudioFrames(
        bands=tuple(band.name for band in bands),
        fps=fps,
        levels=levels,
        onsets=_normalised(onset_peaks.result(frame_count)),
        beat=beat_curve(frames[beats], frame_count, beat_half_life, fps),
        waveform=maxima[:, 0],
    )


def _normalised(columns: np.ndarray) -> np.ndarray:
    """Each column over its largest value; a column that never rises above 0 stays 0. Shape: [n, k] → [n, k]."""
    largest = columns.max(axis=0, initial=0.0)
    return np.divide(columns, largest, out=np.zeros_like(columns), where=largest > 0)
