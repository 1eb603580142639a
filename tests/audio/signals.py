"""Synthesized test sounds: tones with a soft start, tones switched on later, click tracks, and wav files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import wavfile

RATE = 44_100
FADE = 0.05
"""Seconds of raised-cosine fade-in, so a tone's start does not ring the band filters above its level."""


def tone(frequency: float, seconds: float, start: float = 0.0, amplitude: float = 0.5) -> np.ndarray:
    """A sine of ``frequency`` Hz, silent before ``start`` seconds, fading in over :data:`FADE`. Shape: [n]."""
    time = np.arange(round(seconds * RATE)) / RATE
    ramp = np.clip((time - start) / FADE, 0, 1)
    envelope = np.where(time >= start, 0.5 - 0.5 * np.cos(np.pi * ramp), 0.0)
    return (amplitude * envelope * np.sin(2 * np.pi * frequency * time)).astype(np.float32)


def clicks(seconds: float, period: float, first: float = 0.0) -> np.ndarray:
    """Single-sample clicks every ``period`` seconds from ``first``. Shape: [n]."""
    track = np.zeros(round(seconds * RATE), np.float32)
    track[np.round(np.arange(first, seconds, period) * RATE).astype(int)] = 0.9
    return track


def chunked(samples: np.ndarray, size: int = 10_000) -> list[np.ndarray]:
    """The signal as a decoder would hand it over: in pieces."""
    return [samples[index:index + size] for index in range(0, len(samples), size)]


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """16-bit PCM at :data:`RATE`."""
    wavfile.write(path, RATE, np.round(samples * 32767).astype(np.int16))
    return path
