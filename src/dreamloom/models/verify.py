"""Checking that a file on disk is the one the registry describes (sha256 where known, else size)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dreamloom.errors import WeightsError
from dreamloom.models.registry import WeightsFile

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch(entry: WeightsFile, size: int, sha256: str | None) -> str | None:
    """Why a file of ``size`` bytes and hash ``sha256`` is not ``entry``; None when it matches.

    ``sha256`` None means "not computed": only the size is compared then.
    """
    if entry.size is not None and size != entry.size:
        return f"its size is {size:,} bytes instead of {entry.size:,} (truncated or a different file)"
    if entry.sha256 is not None and sha256 is not None and sha256 != entry.sha256.lower():
        return f"its sha256 is {sha256} instead of {entry.sha256.lower()}"
    return None


def verify_file(entry: WeightsFile, path: Path) -> None:
    """Raise a :class:`WeightsError` naming ``path`` if it does not match ``entry``.

    The file is hashed only when the registry knows its sha256; otherwise its size is checked.
    """
    sha256 = sha256_of(path) if entry.sha256 is not None else None
    problem = mismatch(entry, path.stat().st_size, sha256)
    if problem is not None:
        raise WeightsError(
            f"model file {entry.name!r} at {path} is corrupt: {problem}. Delete it and run "
            f"`dreamloom models download {entry.name}` (or place a good copy there by hand)."
        )
