"""Getting a registered file into the cache: reuse a verified copy, or download, verify, then rename.

A download streams into a temporary file next to its destination while hashing, is checked against the
registry (and the announced ``Content-Length``), and only then renamed into place with ``os.replace``, so
an interrupted or bad download never leaves a file that looks installed.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from dreamloom import __version__
from dreamloom.errors import WeightsError
from dreamloom.models.cache import file_path, offline
from dreamloom.models.registry import WeightsFile
from dreamloom.models.verify import CHUNK, mismatch, verify_file

logger = logging.getLogger(__name__)


class _BadDownload(Exception):
    """A download that arrived but is not the registered file."""


def missing_file_error(entry: WeightsFile, path: Path, reasons: list[str]) -> WeightsError:
    """The one error for a file that is not installed: what it is, where to get it, where to put it."""
    size = f", {entry.size:,} bytes" if entry.size is not None else ""
    sha = f"\nIts sha256 must be {entry.sha256}." if entry.sha256 else ""
    why = "\n".join(f"  - {reason}" for reason in reasons)
    urls = "\n".join(f"  {url}" for url in entry.urls)
    return WeightsError(
        f"model file {entry.name!r} ({entry.description}{size}) is not installed and could not be "
        f"downloaded:\n{why}\nDownload it from one of:\n{urls}\nand place it at:\n  {path}{sha}\n"
        f"(or run `dreamloom models download {entry.name}` on a machine with network access)."
    )


def ensure_file(
    entry: WeightsFile,
    models_parent_dir: str | os.PathLike[str] | None = None,
    *,
    allow_download: bool = True,
    progress: bool = True,
) -> Path:
    """Path of a verified copy of ``entry`` in the cache, downloading it first if it is missing.

    Offline (``HF_HUB_OFFLINE=1`` or ``allow_download=False``) a missing file is a :class:`WeightsError`
    naming the file, its URLs and the exact path to place it at.
    """
    path = file_path(entry, models_parent_dir)
    if path.exists():
        verify_file(entry, path)
        return path
    if offline():
        raise missing_file_error(entry, path, ["downloads are disabled (HF_HUB_OFFLINE is set)"])
    if not allow_download:
        raise missing_file_error(entry, path, ["downloads were not allowed for this run"])
    return download(entry, path, progress=progress)


def download(entry: WeightsFile, path: Path, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch ``entry`` to ``path`` from the first URL that delivers the right bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    reasons: list[str] = []
    for url in entry.urls:
        try:
            _fetch(url, entry, path, progress=progress, timeout=timeout)
        except _BadDownload as refused:
            reasons.append(f"{url}: download refused, {refused}")
        except (OSError, http.client.HTTPException, ValueError) as failure:
            reasons.append(f"{url}: {failure}")
        else:
            return path
    raise missing_file_error(entry, path, reasons)


def _fetch(url: str, entry: WeightsFile, path: Path, *, progress: bool, timeout: float) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs are fetched, not {url!r}")
    logger.info("downloading %s from %s", entry.name, url)
    request = urllib.request.Request(url, headers={"User-Agent": f"dreamloom/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length", "")
        announced = int(length) if length.isdigit() else None
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as sink:
                size, sha256 = _stream(response, sink, announced or entry.size, entry.filename, progress)
            if announced is not None and size != announced:
                raise _BadDownload(f"the connection ended after {size:,} of {announced:,} bytes")
            problem = mismatch(entry, size, sha256)
            if problem is not None:
                raise _BadDownload(problem)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _stream(source: BinaryIO, sink: BinaryIO, total: int | None, label: str, progress: bool) -> tuple[int, str]:
    """Copy ``source`` to ``sink`` with a progress bar; return (bytes copied, hex sha256)."""
    digest = hashlib.sha256()
    size = 0
    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress)
    with bar:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            sink.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
    return size, digest.hexdigest()
