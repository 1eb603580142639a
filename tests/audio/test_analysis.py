"""The per-frame audio variables on synthesized sounds: bands, timing, ``_prev``, offsets, beats, onsets."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dreamloom.audio.analysis import AudioFrames, analyse
from dreamloom.audio.bands import Band, band_sos, follow
from dreamloom.audio.decoding import mono_samples
from dreamloom.audio.frames import FrameGrid

from .signals import RATE, chunked, clicks, tone, write_wav

LOW, HIGH = Band("fLo", 105, 65), Band("fHi", 900, 600)


def frames_of(samples: np.ndarray, *, fps: float = 12, bands=(LOW, HIGH), half_life: float = 0.25, size: int = 10_000) -> AudioFrames:
    return analyse(chunked(samples, size), rate=RATE, fps=fps, bands=list(bands), beat_half_life=half_life)


def test_a_tone_lights_its_own_band_only():
    """2 s of 100 Hz, then 2 s of 1 kHz: each band is normalised to its own loudest frame in the track, so
    each reads about 1 during its tone and about 0 during the other."""
    time = np.arange(4 * RATE) / RATE
    samples = tone(100, 4.0) * (time < 2) + tone(1000, 4.0, start=2.0)
    result = frames_of(samples)
    bass, treble = result.levels[3:22], result.levels[27:]  # past each fade-in and the bass's ringing out
    assert bass[:, 0] == pytest.approx(np.ones(len(bass)), abs=0.02)
    assert bass[:, 1] == pytest.approx(np.zeros(len(bass)), abs=0.02)
    assert treble[:, 0] == pytest.approx(np.zeros(len(treble)), abs=0.02)
    assert treble[:, 1] == pytest.approx(np.ones(len(treble)), abs=0.02)


def test_a_tone_switched_on_at_2s_changes_the_band_at_the_frame_of_2s():
    result = frames_of(tone(1000, 4.0, start=2.0))
    rising = int(np.argmax(result.levels[:, 1] > 0.5))
    assert abs(rising - 24) <= 1  # 2 s at 12 fps
    assert np.all(result.levels[:23, 1] == 0)


def test_each_frame_is_the_peak_of_the_whole_signal_filtered_once():
    """The streaming, block-by-block analysis equals filtering the whole signal in one go (no per-window
    start-up transient) and taking each frame's peak over its own samples, normalised to the largest."""
    samples = tone(1000, 3.0, start=0.7) + tone(100, 3.0) + 0.05 * np.random.default_rng(1).standard_normal(3 * RATE).astype(np.float32)
    result = frames_of(samples, fps=29.97)
    grid = FrameGrid(RATE, 29.97)
    starts = grid.start(np.arange(result.frame_count + 1)).clip(max=len(samples))
    for column, band in enumerate((LOW, HIGH)):
        filtered = np.abs(signal.sosfilt(band_sos(band, RATE), samples.astype(np.float64)))
        peaks = np.array([filtered[a:b].max() for a, b in zip(starts[:-1], starts[1:])])
        np.testing.assert_allclose(result.levels[:, column], peaks / peaks.max(), rtol=1e-5)


def test_block_and_chunk_sizes_do_not_change_the_result():
    samples = tone(1000, 5.0, start=1.3) + clicks(5.0, 0.37)
    whole = frames_of(samples, size=len(samples))
    for size in (777, 4_099):
        pieces = frames_of(samples, size=size)
        np.testing.assert_allclose(pieces.table(), whole.table(), atol=1e-6)


def test_prev_is_exactly_the_previous_frame():
    result = frames_of(tone(1000, 3.0, start=1.0) * np.linspace(0, 1, 3 * RATE, dtype=np.float32))
    names = result.names
    for frame in range(1, result.frame_count + 2):
        now, before = result.values_at(frame), result.values_at(frame - 1)
        assert now["fHi_prev"] == before["fHi"] and now["fLo_prev"] == before["fLo"]
    table = result.table()
    np.testing.assert_array_equal(table[1:, names.index("fHi_prev")], table[:-1, names.index("fHi")])


def test_values_exist_before_the_first_frame_and_are_zero_after_the_sound():
    result = frames_of(tone(1000, 2.0, amplitude=0.5) + tone(100, 2.0))
    assert result.values_at(-1) == result.values_at(0)
    assert result.values_at(0)["fHi_prev"] == result.values_at(0)["fHi"]
    end = result.frame_count
    after = result.values_at(end)
    assert after["fHi"] == 0 and after["fHi_onset"] == 0 and after["beat"] == 0
    assert after["fHi_prev"] == result.values_at(end - 1)["fHi"] > 0
    assert set(result.values_at(end + 5).values()) == {0.0}


def test_an_offset_shifts_everything(tmp_path):
    """Read from 2 s in, frame k is frame k + 24 of the whole track, and the levels are normalised over the
    frames actually played: a loud first second no longer dwarfs the quieter tone after the offset (pytti
    scanned its maxima from 0 whatever the offset)."""
    time = np.arange(5 * RATE) / RATE
    samples = tone(1000, 5.0) * (time < 1) + 0.25 * tone(1000, 5.0, start=3.0) / 0.5
    path = write_wav(tmp_path / "offset.wav", samples)
    whole = frames_of(np.concatenate(list(mono_samples(path, RATE))))
    shifted = frames_of(np.concatenate(list(mono_samples(path, RATE, offset=2.0))))
    assert shifted.frame_count == whole.frame_count - 24
    assert int(np.argmax(whole.levels[24:, 1] > 0.25)) + 24 == 36  # the tone at 3 s: frame 36 of the whole
    assert int(np.argmax(shifted.levels[:, 1] > 0.5)) == 12  # and frame 12 from the offset
    assert whole.levels[-1, 1] == pytest.approx(0.5, abs=0.02)
    assert shifted.levels[-1, 1] == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(shifted.levels[:, 1], whole.levels[24:, 1] / whole.levels[24:, 1].max(), atol=2e-3)


def test_a_click_track_at_120_bpm_beats_every_6th_frame_at_12_fps():
    result = frames_of(clicks(10.0, 0.5), half_life=0.25)
    assert np.flatnonzero(result.beat == 1).tolist() == list(range(0, 120, 6))
    assert result.beat[3] == pytest.approx(0.5)  # a quarter of a second (one half-life) after the beat
    assert result.beat[1] == pytest.approx(0.5 ** (1 / 3))


def test_without_a_half_life_beat_is_one_on_beat_frames_only():
    result = frames_of(clicks(4.0, 0.5), half_life=0)
    assert np.flatnonzero(result.beat).tolist() == list(range(0, 48, 6))


def test_silence_gives_no_beat_and_zero_levels():
    result = frames_of(np.zeros(2 * RATE, np.float32))
    assert result.frame_count == 24
    assert not result.table().any()


def test_onsets_mark_the_frame_where_a_band_starts():
    result = frames_of(tone(1000, 4.0, start=2.0) + tone(100, 4.0))
    assert int(np.argmax(result.onsets[:, 1])) == 24
    assert result.onsets[:, 1].max() == 1
    assert np.all(result.onsets[26:, 1] < 0.05)  # once faded in, a steady tone brings nothing new


def test_attack_and_release_smooth_the_level_with_their_time_constants():
    step = np.r_[np.zeros(5), np.ones(60), np.zeros(60)]
    smoothed = follow(step, attack=0.5, release=2.0, fps=12)
    assert smoothed[:5].tolist() == [0] * 5
    assert smoothed[5 + 6 - 1] == pytest.approx(1 - np.exp(-1), abs=1e-9)  # 6 frames = 0.5 s after the rise
    top = smoothed[64]
    assert smoothed[64 + 24] == pytest.approx(top * np.exp(-1), abs=1e-9)  # 24 frames = 2 s after the fall
    assert follow(step, 0, 0, 12).tolist() == step.tolist()


def test_a_band_with_smoothing_is_served_smoothed():
    slow = Band("fHi", 900, 600, attack=1.0)
    result = frames_of(tone(1000, 4.0, start=1.0), bands=[slow])
    plain = frames_of(tone(1000, 4.0, start=1.0), bands=[HIGH])
    np.testing.assert_allclose(result.levels[:, 0], follow(plain.levels[:, 0], 1.0, 0.0, 12))


@pytest.mark.parametrize("fps", [12, 24, 29.97, 30000 / 1001, 7.3])
def test_frames_tile_the_samples(fps):
    grid = FrameGrid(RATE, fps)
    frames = np.arange(2000)
    starts = grid.start(frames)
    assert np.array_equal(grid.frame_of(starts), frames)
    assert np.array_equal(grid.frame_of(starts[1:] - 1), frames[:-1])
    first, cuts = grid.segments(int(starts[10]) - 3, int(starts[14]) + 2)
    assert first == 9 and np.array_equal(cuts, starts[10:15] - (starts[10] - 3))
