"""Band peaks and the envelope follower at their edges: a block's first sample, one time constant of zero."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dreamloom.audio.bands import Band, BandPeaks, follow
from dreamloom.audio.frames import FrameGrid


def test_the_first_sample_of_every_block_counts_in_its_frame() -> None:
    grid = FrameGrid(rate=100, fps=10)  # 10 samples a frame
    peaks = BandPeaks([Band("fLo", 20, 10)], grid)
    first, second = np.zeros(30), np.zeros(20)
    first[[0, 10, 25]] = [0.7, -0.3, 0.2]
    second[0] = -0.9  # sample 30: the first of frame 3 and of this block
    peaks.feed(first, 0)
    peaks.feed(second, 30)
    assert peaks.maxima.result(5)[:, 0].tolist() == [0.7, 0.3, 0.2, 0.9, 0.0]


FPS = 10
STEP = 1 - math.exp(-1 / FPS)  # the share of the way a 1 s time constant moves in one frame at 10 fps
LEVELS = np.array([0.0, 1.0, 1.0, 0.0, 0.0])


def test_release_only_jumps_up_and_decays_down() -> None:
    expected = [0.0, 1.0, 1.0, math.exp(-0.1), math.exp(-0.2)]
    assert follow(LEVELS, attack=0.0, release=1.0, fps=FPS) == pytest.approx(expected, abs=1e-12)


def test_attack_only_rises_slowly_and_drops_at_once() -> None:
    expected = [0.0, STEP, 1 - (1 - STEP) ** 2, 0.0, 0.0]
    assert follow(LEVELS, attack=1.0, release=0.0, fps=FPS) == pytest.approx(expected, abs=1e-12)
