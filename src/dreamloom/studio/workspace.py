"""The studio's workspace folder: uploaded files under safe names, and the config file of each render.

Uploads come from a browser, so their names are not trusted: a name keeps only letters, digits, ``.``,
``-`` and ``_``, never starts with a dot, and never replaces an earlier upload.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

UPLOADS = "uploads"
JOBS = "jobs"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_LIMIT = 80


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder or hide: ``../../etc/pass wd`` → ``pass_wd``."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".-") or "upload"
    stem, dot, suffix = cleaned.rpartition(".")
    if dot and stem and len(suffix) <= 10:
        return f"{stem[: _NAME_LIMIT - len(suffix) - 1]}.{suffix}"
    return cleaned[:_NAME_LIMIT]


def unused_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.suffix`` (-3, ...) when that exists."""
    path = folder / name
    number = 2
    while path.exists():
        path = folder / f"{Path(name).stem}-{number}{Path(name).suffix}"
        number += 1
    return path


def store_upload(workspace: Path, source: Path, original_name: str) -> Path:
    """Copy an uploaded file into ``workspace/uploads`` under a safe, unused name; returns the new path."""
    folder = workspace / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    target = unused_path(folder, safe_name(original_name))
    shutil.copyfile(source, target)
    return target


def job_config(workspace: Path, namespace: str, text: str) -> Path:
    """Write a render's settings to a new ``workspace/jobs/<n>-<namespace>.yaml``; returns its path."""
    folder = workspace / JOBS
    folder.mkdir(parents=True, exist_ok=True)
    number = 1 + sum(1 for _ in folder.glob("*.yaml"))
    path = unused_path(folder, f"{number}-{safe_name(namespace)}.yaml")
    path.write_text(text, encoding="utf-8")
    return path
