"""Decoding audio files through PyAV's bundled FFmpeg: one opener and one frame stream for every reader.

The analysis reads the sound as mono float samples at a fixed rate, a chunk at a time; video export reads it
in its encoder's format. Both open files with :func:`open_audio` and decode with :func:`resampled_frames`, so
a missing, unreadable or corrupt file gives the same message everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import numpy as np

from dreamloom.errors import InputFileError


def open_audio(path: Path) -> av.container.InputContainer:
    """Open ``path`` for decoding; an unreadable file or one with no sound is an InputFileError naming it."""
    try:
        container = av.open(str(path))
    except (OSError, av.error.FFmpegError) as error:
        raise InputFileError(
            f"Cannot read the audio file {path}: {reason(error)}. Give an audio file FFmpeg can decode "
            f"(wav, mp3, flac, ogg, m4a, ...)."
        ) from None
    if not container.streams.audio:
        container.close()
        raise InputFileError(f"The audio file {path} has no audio stream. Give a file that contains sound.")
    return container


def reason(error: Exception) -> str:
    """The short cause FFmpeg or the OS gives for a failure."""
    return getattr(error, "strerror", None) or str(error)


def resampled_frames(container: av.container.InputContainer, resampler: av.AudioResampler, path: Path) -> Iterator[av.AudioFrame]:
    """The first audio stream of ``container`` as frames in ``resampler``'s format, layout and rate.

    A decoding failure part-way (a truncated or corrupt file) is an InputFileError naming ``path``.
    """
    try:
        for frame in container.decode(audio=0):
            yield from resampler.resample(frame)
    except av.error.FFmpegError as error:
        raise InputFileError(f"The audio file {path} is corrupt: {reason(error)}. Give a file that plays.") from None
    yield from resampler.resample(None)


def mono_samples(path: Path, rate: int, offset: float = 0.0) -> Iterator[np.ndarray]:
    """The sound of ``path`` from ``offset`` seconds on, mixed to mono at ``rate`` Hz, a chunk at a time.

    Memory stays at one decoded chunk whatever the file's length. Nothing is yielded when the offset lies
    past the end. Shape: each chunk [n] float32, full scale ±1.
    """
    skip = round(offset * rate)
    with open_audio(path) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in resampled_frames(container, resampler, path):
            chunk = frame.to_ndarray().reshape(-1)
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            yield chunk[skip:]
            skip = 0


def check_audio(path: Path, setting: str) -> None:
    """Fail before any long work when the audio file a setting names cannot be read; the error names it."""
    try:
        open_audio(path).close()
    except InputFileError as error:
        raise InputFileError(f"{setting}: {error}") from None
