"""Getting a registry entry into the cache: reuse a verified copy, or download one of its forms.

Offline (``HF_HUB_OFFLINE=1``, downloads not allowed, or every URL failing) a missing entry is one
:class:`WeightsError` that names it, lists where each form comes from and the exact path to put it at.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dreamloom.errors import WeightsError
from dreamloom.models.cache import file_path, installed_file, offline
from dreamloom.models.entries import ModelEntry, WeightsFile
from dreamloom.models.fetch import FetchFailed, download
from dreamloom.models.verify import verify_file

logger = logging.getLogger(__name__)

ModelsDir = str | os.PathLike[str] | None


def _facts(file: WeightsFile) -> str:
    """What the placed file must match, for the error message ("" when nothing is known)."""
    facts = [f"{file.size:,} bytes"] if file.size is not None else []
    facts += [f"sha256 {file.sha256}"] if file.sha256 else []
    return f" ({', '.join(facts)})" if facts else ""


def missing_entry_error(entry: ModelEntry, models_parent_dir: ModelsDir, reasons: list[str]) -> WeightsError:
    """The one error for an entry that is not installed: what it is, where to get it, where to put it."""
    why = "\n".join(f"  - {reason}" for reason in reasons)
    places = []
    for index, file in enumerate(entry.files):
        urls = "\n".join(f"  {url}" for url in file.urls)
        lead = "Download it" if index == 0 else "Or download the same weights in another form"
        place = f"{file_path(file, models_parent_dir)}{_facts(file)}"
        places.append(f"{lead} from one of:\n{urls}\nand place it at:\n  {place}")
    return WeightsError(
        f"model file {entry.name!r} ({entry.description}) is not installed and could not be downloaded:\n"
        f"{why}\n" + "\n".join(places) + f"\n(or run `dreamloom models download {entry.name}` on a machine "
        "with network access)."
    )


def ensure_entry(
    entry: ModelEntry, models_parent_dir: ModelsDir = None, *, allow_download: bool = True, progress: bool = True
) -> Path:
    """Path of a verified copy of ``entry`` in the cache, downloading its first obtainable form if none is."""
    installed = installed_file(entry, models_parent_dir)
    if installed is not None:
        verify_file(entry, *installed)
        return installed[1]
    if offline():
        raise missing_entry_error(entry, models_parent_dir, ["downloads are disabled (HF_HUB_OFFLINE is set)"])
    if not allow_download:
        raise missing_entry_error(entry, models_parent_dir, ["downloads were not allowed for this run"])
    reasons = []
    for file in entry.files:
        path = file_path(file, models_parent_dir)
        for url in file.urls:
            logger.info("downloading %s from %s", entry.name, url)
            try:
                download(url, path, size=file.size, sha256=file.sha256, progress=progress)
            except FetchFailed as failure:
                reasons.append(f"{url}: {failure}")
            else:
                return path
    raise missing_entry_error(entry, models_parent_dir, reasons)
