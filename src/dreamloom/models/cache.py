"""Where registered files live on disk, and whether dreamloom may go online to fetch them."""

from __future__ import annotations

import os
from pathlib import Path

from dreamloom.models.registry import WeightsFile

_TRUE = {"1", "true", "yes", "on"}


def default_models_dir() -> Path:
    """The default ``models_parent_dir``: the user cache folder, ``~/.cache/dreamloom``."""
    return Path.home() / ".cache" / "dreamloom"


def models_dir(models_parent_dir: str | os.PathLike[str] | None) -> Path:
    """The cache folder for a ``models_parent_dir`` setting (None or empty: the default), ``~`` expanded."""
    if models_parent_dir is None or str(models_parent_dir) == "":
        return default_models_dir()
    return Path(models_parent_dir).expanduser()


def file_path(entry: WeightsFile, models_parent_dir: str | os.PathLike[str] | None = None) -> Path:
    """Absolute path at which ``entry`` is (or must be placed) in the cache."""
    return (models_dir(models_parent_dir) / entry.filename).absolute()


def offline() -> bool:
    """True when downloads are forbidden: ``HF_HUB_OFFLINE`` is 1/true/yes/on (the Hugging Face convention)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE
