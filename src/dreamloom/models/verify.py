"""Checking that bytes are the ones the registry describes (sha256 where known, else size)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dreamloom.errors import WeightsError
from dreamloom.models.entries import ModelEntry, WeightsFile

CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mismatch(size: int, sha256: str | None, *, expected_size: int | None, expected_sha256: str | None) -> str | None:
    """Why ``size`` bytes hashing to ``sha256`` are not the expected ones; None when they match.

    A None expectation is not checked; ``sha256`` None means "not computed" (only the size is compared).
    """
    if expected_size is not None and size != expected_size:
        return f"its size is {size:,} bytes instead of {expected_size:,} (truncated or a different file)"
    if expected_sha256 is not None and sha256 is not None and sha256 != expected_sha256.lower():
        return f"its sha256 is {sha256} instead of {expected_sha256.lower()}"
    return None


def file_mismatch(file: WeightsFile, path: Path, sha256: str | None) -> str | None:
    """Why the file at ``path`` (hash ``sha256``, or None when not computed) is not ``file``."""
    return mismatch(path.stat().st_size, sha256, expected_size=file.size, expected_sha256=file.sha256)


def verify_file(entry: ModelEntry, file: WeightsFile, path: Path) -> None:
    """Raise a :class:`WeightsError` naming ``path`` if it is not ``file`` (a form of ``entry``).

    The file is hashed only when the registry knows its sha256; otherwise its size is checked.
    """
    problem = file_mismatch(file, path, sha256_of(path) if file.sha256 is not None else None)
    if problem is not None:
        raise WeightsError(
            f"model file {entry.name!r} at {path} is corrupt: {problem}. Delete it and run "
            f"`dreamloom models download {entry.name}` (or place a good copy there by hand)."
        )
