"""Past runs under the studio's output folder: their frames, video, settings file, preview and loss log.

Only files that resolve inside the output folder are ever listed, so a symbolic link cannot lead the page to
a file elsewhere on the machine.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from dreamloom.output.run_frames import find_run_frames, run_names

VIDEO_SUFFIXES = (".mp4", ".webm", ".gif")


@dataclass(frozen=True)
class GalleryRun:
    """One run: ``label`` is ``<namespace folder>/<base name>``."""

    label: str
    frames: tuple[Path, ...]
    video: Path | None
    settings: Path | None


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (links followed) lies under ``root``."""
    return path.resolve().is_relative_to(root.resolve())


def list_runs(root: Path) -> list[str]:
    """The labels of every run with frames in a folder directly under ``root`` (``output_dir/namespace``)."""
    if not root.is_dir():
        return []
    return [f"{folder.name}/{name}" for folder in sorted(root.iterdir())
            if folder.is_dir() and inside(folder, root) for name in run_names(folder)]


def open_run(root: Path, label: str) -> GalleryRun:
    """The files of run ``label`` (from :func:`list_runs`); names outside ``root`` are refused."""
    namespace, _, base = label.partition("/")
    folder = root / namespace
    if not namespace or "/" in base or not inside(folder, root):
        raise ValueError(f"{label!r} is not a run under {root}")
    run = find_run_frames(folder, base)
    frames = tuple(path for path in run.frames if inside(path, root))
    videos = [folder / f"{base}{suffix}" for suffix in VIDEO_SUFFIXES]
    video = next((path for path in videos if path.is_file() and inside(path, root)), None)
    settings = folder / f"{base}_settings.yaml"
    return GalleryRun(label, frames, video, settings if settings.is_file() and inside(settings, root) else None)


def latest_picture(folder: Path, since: float) -> Path | None:
    """The newest preview or frame written in ``folder`` at or after ``since`` (a time stamp), if any."""
    if not folder.is_dir():
        return None
    pictures = [path for path in folder.glob("*.png")
                if not path.name.endswith(("_losses.png", "_palette.png")) and path.stat().st_mtime >= since]
    return max(pictures, key=lambda path: (path.stat().st_mtime, path.name), default=None)


def loss_rows(folder: Path, since: float) -> list[dict[str, float]]:
    """The rows of the newest loss log (``<base>_losses.csv``) written in ``folder`` at or after ``since``:
    one dict per step, columns as numbers."""
    logs = [path for path in folder.glob("*_losses.csv") if path.stat().st_mtime >= since] if folder.is_dir() else []
    if not logs:
        return []
    newest = max(logs, key=lambda path: path.stat().st_mtime)
    with newest.open(encoding="utf-8", newline="") as handle:
        return [{key: float(value) for key, value in row.items() if value not in ("", None)}
                for row in csv.DictReader(handle)]
