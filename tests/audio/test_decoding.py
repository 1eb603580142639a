"""Reading input_audio: any format FFmpeg decodes, mixed to mono, from an offset; clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from output.media import dominant_frequency, write_tone
from scipy.io import wavfile

from dreamloom.audio.decoding import mono_samples
from dreamloom.errors import InputFileError

from .signals import RATE, tone, write_wav


def test_flac_decodes_to_the_same_tone(tmp_path: Path):
    path = write_tone(tmp_path / "tone.flac", [(440, 1.0), (1000, 1.0)], "flac")
    samples = np.concatenate(list(mono_samples(path, RATE)))
    assert len(samples) == 2 * RATE
    assert dominant_frequency(samples[:RATE], RATE) == pytest.approx(440, abs=2)
    assert dominant_frequency(samples[RATE:], RATE) == pytest.approx(1000, abs=2)


def test_stereo_is_mixed_to_mono_and_other_rates_are_resampled(tmp_path: Path):
    left, right = tone(300, 1.0), tone(2000, 1.0)
    wavfile.write(tmp_path / "stereo.wav", 22_050, np.round(np.stack([left[::2], right[::2]], axis=1) * 32767).astype(np.int16))
    samples = np.concatenate(list(mono_samples(tmp_path / "stereo.wav", RATE)))
    assert len(samples) == pytest.approx(RATE, abs=64)
    spectrum = np.abs(np.fft.rfft(samples[RATE // 4:]))
    frequencies = np.fft.rfftfreq(len(samples[RATE // 4:]), 1 / RATE)
    strongest = sorted(frequencies[np.argsort(spectrum)[-2:]])
    assert strongest == pytest.approx([300, 2000], abs=3)  # both channels are heard


def test_the_offset_skips_exactly_its_samples(tmp_path: Path):
    samples = np.linspace(-0.5, 0.5, 3 * RATE, dtype=np.float32)
    path = write_wav(tmp_path / "ramp.wav", samples)
    read = np.concatenate(list(mono_samples(path, RATE, offset=1.25)))
    expected = np.round(samples * 32767) / 32768
    np.testing.assert_allclose(read, expected[round(1.25 * RATE):], atol=1e-6)
    assert list(mono_samples(path, RATE, offset=3.5)) == []


def test_missing_and_undecodable_files_are_named(tmp_path: Path):
    with pytest.raises(InputFileError, match=r"Cannot read the audio file .*nothere.mp3"):
        list(mono_samples(tmp_path / "nothere.mp3", RATE))
    (tmp_path / "text.mp3").write_text("not a song")
    with pytest.raises(InputFileError, match=r"text.mp3"):
        list(mono_samples(tmp_path / "text.mp3", RATE))
