"""Fixtures for the video tests; the media themselves are made by :mod:`.media`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .media import write_tone


@pytest.fixture
def tone(tmp_path: Path) -> Callable[..., Path]:
    """``tone(name, pieces)`` writes a tone; the suffix picks the codec (.wav: PCM, .mp3: LAME)."""
    codecs = {".wav": "pcm_s16le", ".mp3": "libmp3lame"}
    return lambda name, pieces: write_tone(tmp_path / name, pieces, codecs[Path(name).suffix])
