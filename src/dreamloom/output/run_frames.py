"""Finding a finished run's frames in its output folder, with the frame rate and sound its settings recorded.

A run writes ``<base>_<n>.png`` (n from 1) and ``<base>_settings.yaml`` (see :mod:`dreamloom.output.run_writer`);
several runs share a folder as ``<namespace>``, ``<namespace>(1)``, ... This module picks one run's frames in
numeric order, so ``_10`` follows ``_9``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dreamloom.errors import InputFileError
from dreamloom.output.video import DEFAULT_CRF
from dreamloom.settings.choices import AnimationMode
from dreamloom.video_frames import has_sound

FRAME_NAME = re.compile(r"(?P<base>.+)_(?P<number>\d+)\.png")

DEFAULT_FPS = 12.0
"""pytti's ``frames_per_second`` default, for a folder without a settings file."""


@dataclass(frozen=True)
class RunFrames:
    """One run's frames in order, and the video settings its ``<base>_settings.yaml`` holds (or defaults)."""

    folder: Path
    base_name: str
    frames: tuple[Path, ...]
    fps: float = DEFAULT_FPS
    audio: Path | None = None
    audio_offset: float = 0.0
    crf: int = DEFAULT_CRF


def find_run_frames(folder: Path, base_name: str | None = None) -> RunFrames:
    """The frames of run ``base_name`` in ``folder``, or of the run whose latest frame is newest."""
    if not folder.is_dir():
        raise InputFileError(f"The run folder {folder} does not exist. Give the folder that holds the frames, e.g. images_out/NAME.")
    runs = _frames_by_run(folder)
    if base_name is None and runs:
        base_name = max(runs, key=lambda base: (max(path.stat().st_mtime for path in runs[base]), base))
    if base_name not in runs:
        wanted = f"{base_name}_<n>.png" if base_name else "<base>_<n>.png"
        found = f" (runs there: {', '.join(sorted(runs))})" if runs else ""
        raise InputFileError(f"No frames named {wanted} in {folder}{found}. Render an animation first, or give its folder and --base.")
    numbered = sorted(runs[base_name], key=lambda path: int(FRAME_NAME.fullmatch(path.name)["number"]))
    return _with_settings(RunFrames(folder, base_name, tuple(numbered)), folder / f"{base_name}_settings.yaml")


def run_names(folder: Path) -> list[str]:
    """The base names of the runs with frames in ``folder``, sorted; none when it is not a folder."""
    return sorted(_frames_by_run(folder)) if folder.is_dir() else []


def _frames_by_run(folder: Path) -> dict[str, list[Path]]:
    runs: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        match = FRAME_NAME.fullmatch(path.name)
        if match and not path.name.startswith(".") and path.is_file():
            runs.setdefault(match["base"], []).append(path)
    return runs


def _with_settings(run: RunFrames, settings_file: Path) -> RunFrames:
    """``run`` with ``frames_per_second``, ``input_audio``, ``input_audio_offset`` and ``video_crf`` from
    ``settings_file``; a Video Source run plays at ``frames_per_second / frame_stride`` with its video's
    sound when it has no ``input_audio``, as ``render`` exports it."""
    if not settings_file.is_file():
        return run
    try:
        settings = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputFileError(f"Cannot read {settings_file}: {error}. Fix or delete the file, or give --fps.") from None
    if not isinstance(settings, dict):
        raise InputFileError(f"{settings_file} is not a settings mapping. Fix or delete the file.")
    fps = _number(settings, "frames_per_second", settings_file, run.fps, positive=True)
    offset = _number(settings, "input_audio_offset", settings_file, run.audio_offset, positive=False)
    audio = settings.get("input_audio") or None
    if audio is not None and not isinstance(audio, str):
        raise InputFileError(f"input_audio in {settings_file} must be a file path, got {audio!r}.")
    crf = settings.get("video_crf", run.crf)
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise InputFileError(f"video_crf in {settings_file} must be a whole number from 0 to 51, got {crf!r}. "
                             "Fix the file or give --crf.")
    if settings.get("animation_mode") == AnimationMode.VIDEO_SOURCE.value:  # as render exports it
        fps /= _number(settings, "frame_stride", settings_file, 1, positive=True)
        video = settings.get("video_path")
        if audio is None and isinstance(video, str) and has_sound(video):
            audio, offset = video, 0.0
    return RunFrames(run.folder, run.base_name, run.frames, fps, Path(audio) if audio else None, offset, crf)


def _number(settings: dict, key: str, source: Path, default: float, *, positive: bool) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or (positive and value == 0):
        rule = "greater than 0" if positive else "0 or more"
        raise InputFileError(f"{key} in {source} must be a number {rule}, got {value!r}. Fix the file or override it on the command line.")
    return float(value)
