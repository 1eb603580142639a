"""Where registered files live on disk, and whether dreamloom may go online to fetch them.

One layout for every family: ``<models_parent_dir>/<family folder>/...`` (``vqgan/``, ``open_clip/``,
``depth/``, ``flow/``), each file at the relative path its registry entry gives.
"""

from __future__ import annotations

import os
from pathlib import Path

from dreamloom.models.entries import ModelEntry, WeightsFile

_TRUE = {"1", "true", "yes", "on"}


def default_models_dir() -> Path:
    """The default ``models_parent_dir``: the user cache folder, ``~/.cache/dreamloom``."""
    return Path.home() / ".cache" / "dreamloom"


def models_dir(models_parent_dir: str | os.PathLike[str] | None) -> Path:
    """The cache folder for a ``models_parent_dir`` setting (None or empty: the default), ``~`` expanded."""
    if models_parent_dir is None or str(models_parent_dir) == "":
        return default_models_dir()
    return Path(models_parent_dir).expanduser()


def file_path(file: WeightsFile, models_parent_dir: str | os.PathLike[str] | None = None) -> Path:
    """Absolute path at which ``file`` is (or must be placed) in the cache."""
    return (models_dir(models_parent_dir) / file.filename).absolute()


def installed_file(
    entry: ModelEntry, models_parent_dir: str | os.PathLike[str] | None = None
) -> tuple[WeightsFile, Path] | None:
    """The first of ``entry``'s forms present in the cache, with its path; None when none is."""
    for file in entry.files:
        path = file_path(file, models_parent_dir)
        if path.is_file():
            return file, path
    return None


def offline() -> bool:
    """True when downloads are forbidden: ``HF_HUB_OFFLINE`` is 1/true/yes/on (the Hugging Face convention)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
