"""Spectral flux, hop dating, beat picking and the beat curve against plain re-derivations of their rules."""

from __future__ import annotations

import numpy as np
import pytest

from dreamloom.audio.bands import Band
from dreamloom.audio.frames import FrameGrid
from dreamloom.audio.onsets import (
    HOP,
    WINDOW,
    SpectralFlux,
    beat_curve,
    hop_frames,
    pick_beats,
)


def reference_flux(signal: np.ndarray, rate: int, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Bello et al.'s flux written out: zeros before the signal, one Hann window ending at each hop,
    log1p magnitudes, the rise since the previous window (0 before the first), summed over the band's
    bins (edges included) and over all bins."""
    padded = np.concatenate([np.zeros(WINDOW - HOP), signal])
    frequencies = np.arange(WINDOW // 2 + 1) * rate / WINDOW
    in_band = (frequencies >= low) & (frequencies <= high)
    previous = np.zeros(WINDOW // 2 + 1)
    band, total = [], []
    for hop in range(len(signal) // HOP):
        window = padded[hop * HOP: hop * HOP + WINDOW] * np.hanning(WINDOW)
        magnitude = np.log1p(np.abs(np.fft.rfft(window)))
        rise = np.maximum(magnitude - previous, 0)
        band.append(rise[in_band].sum())
        total.append(rise.sum())
        previous = magnitude
    return np.array(band), np.array(total)


def test_flux_matches_the_formula_across_blocks_and_includes_both_band_edges() -> None:
    rate = 2048  # bins 1 Hz apart: the band's edges, 90 and 110 Hz, fall exactly on bins
    signal = np.random.default_rng(0).normal(size=8 * HOP)
    flux = SpectralFlux([Band("fLo", 100, 20)], rate)
    pieces = [flux.feed(signal[: 3 * HOP]), flux.feed(signal[3 * HOP:])]
    band = np.concatenate([piece[0][:, 0] for piece in pieces])
    total = np.concatenate([piece[1] for piece in pieces])
    expected_band, expected_total = reference_flux(signal, rate, 90, 110)
    assert [len(piece[1]) for piece in pieces] == [3, 5]
    np.testing.assert_allclose(band, expected_band, rtol=2e-4)
    np.testing.assert_allclose(total, expected_total, rtol=2e-4)


def test_a_hop_belongs_to_the_frame_of_its_last_sample() -> None:
    grid = FrameGrid(rate=5110, fps=10)  # frames of 511 samples: frame k starts at 511·k
    last_samples = [512 * (hop + 1) - 1 for hop in range(6)]
    assert hop_frames(grid, 6).tolist() == [sample // 511 for sample in last_samples] == [1, 2, 3, 4, 5, 6]
    grid = FrameGrid(rate=5120, fps=10)  # one hop a frame: hop j's last sample is the last of frame j
    assert hop_frames(grid, 6).tolist() == [sample // 512 for sample in last_samples] == [0, 1, 2, 3, 4, 5]


def reference_beats(flux: np.ndarray, rate: int) -> list[int]:
    """The documented rule by loops: the largest within 0.1 s either side, at least 0.1 (of the largest
    flux) above the mean over 0.5 s either side; hops past either end count as 0."""
    if len(flux) == 0 or flux.max() <= 0:
        return []
    level = flux / flux.max()
    spacing, context = max(1, round(0.1 * rate / HOP)), max(1, round(0.5 * rate / HOP))

    def at(index: int) -> float:
        return float(level[index]) if 0 <= index < len(level) else 0.0

    beats = []
    for index in range(len(level)):
        nearby = max(at(j) for j in range(index - spacing, index + spacing + 1))
        mean = sum(at(j) for j in range(index - context, index + context + 1)) / (2 * context + 1)
        if level[index] == nearby and level[index] >= mean + 0.1:
            beats.append(index)
    return beats


@pytest.mark.parametrize("rate", [1024, 5120, 10240, 44100])  # spacing/context of 1/1, 1/5, 2/10, 9/43 hops
@pytest.mark.parametrize("seed", [0, 1])
def test_beats_follow_the_rule_written_out(rate: int, seed: int) -> None:
    flux = np.random.default_rng(seed).random(300) ** 6 * 0.5  # peaky, and its maximum below 1
    beats = pick_beats(flux, rate)
    assert beats.tolist() == reference_beats(flux, rate)
    assert 3 <= len(beats) < 150


def test_beat_edge_cases() -> None:
    assert pick_beats(np.zeros(0), 1024).tolist() == []
    assert pick_beats(np.zeros(5), 1024).tolist() == []
    assert pick_beats(np.array([0.3]), 1024).tolist() == [0]
    # exactly 0.1 above the mean of the three hops around it (0.9): a beat, the threshold included
    assert pick_beats(np.array([0.0, 0.85, 1.0, 0.85, 0.0]), 1024).tolist() == [2]


def test_beat_curve_by_hand() -> None:
    assert beat_curve(np.array([1, 3, 9]), 5, half_life=0.0, fps=2).tolist() == [0, 1, 0, 1, 0]
    assert beat_curve(np.array([2]), 6, half_life=1.0, fps=1).tolist() == [0, 0, 1, 0.5, 0.25, 0.125]
