"""Claiming a run's base name, so that two renders into one namespace never write the same files.

A render holds an exclusive OS lock on ``<folder>/.<base>.lock`` from before it writes its first file until
it ends. The operating system drops the lock when the process dies, even by kill -9, so a marker left
behind never blocks a later run; the next run that finds it unlocked removes it. A new run takes the first
run index (pytti's numbering: ``ns``, ``ns(1)``, ``ns(2)``, …) that has no files and whose lock it gets;
``--resume`` and ``allow_overwrite: true`` need one given name and are refused while another process
renders under it.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from dreamloom.errors import DreamloomError
from dreamloom.output.files import temporary_target
from dreamloom.output.naming import next_base_name

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

#: How long a claim of one given name waits for a lock that another run holds only for a moment (while it
#: tidies a stale marker) before calling the name busy.
CLAIM_PATIENCE_S = 1.0


class RunClaim:
    """The claim on ``base_name`` in ``folder``; releasing it removes the marker. A context manager."""

    def __init__(self, folder: Path, base_name: str, descriptor: int) -> None:
        self.folder = folder
        self.base_name = base_name
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        """Remove the marker while still holding its lock, then let the lock go."""
        if self._descriptor is None:
            return
        marker = _marker(self.folder, self.base_name)
        if fcntl is not None:
            marker.unlink(missing_ok=True)
            os.close(self._descriptor)
        else:  # Windows removes no open file: close first, and leave the marker if another run opened it
            os.close(self._descriptor)
            try:
                marker.unlink(missing_ok=True)
            except OSError:
                pass
        self._descriptor = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()


def claim_new_run(folder: Path, namespace: str, allow_overwrite: bool) -> RunClaim:
    """Claim the name of a new run of ``namespace`` in ``folder`` (which must exist)."""
    if allow_overwrite:
        return claim_run(folder, namespace, "allow_overwrite: true reuses the name of the namespace")
    busy: set[str] = set()
    while True:
        name = next_base_name(folder, namespace, False, busy)
        descriptor = _try_lock(_marker(folder, name))
        if descriptor is None:
            busy.add(name)  # another process renders under this name and has written nothing yet
            continue
        claim = RunClaim(folder, name, descriptor)
        if next_base_name(folder, namespace, False, busy) == name:  # still free now that it is ours
            return claim
        claim.release()  # a run finished under this name between the look and the lock


def claim_run(folder: Path, base_name: str, why: str) -> RunClaim:
    """Claim the given ``base_name``; a DreamloomError when another process renders under it now."""
    deadline = time.monotonic() + CLAIM_PATIENCE_S
    while (descriptor := _try_lock(_marker(folder, base_name))) is None:
        if time.monotonic() > deadline:
            raise DreamloomError(
                f"Another dreamloom process is rendering {base_name!r} in {folder} now ({why}). Wait until it "
                "ends, or choose another file_namespace."
            )
        time.sleep(0.05)
    return RunClaim(folder, base_name, descriptor)


def tidy_namespace(claim: RunClaim, folders: Iterable[Path], namespace: str) -> list[Path]:
    """Remove what killed runs of ``namespace`` left in ``folders``: temporary files of half-done writes
    (those of the claimed run, and of runs whose marker nobody holds) and unheld markers. Returns them."""
    removed = []
    stale = {claim.base_name}
    for marker in _markers(claim.folder, namespace):
        base = marker.name[1:-len(".lock")]
        if base != claim.base_name and (descriptor := _try_lock(marker)) is not None:
            stale.add(base)
            RunClaim(claim.folder, base, descriptor).release()
            removed.append(marker)
    pattern = re.compile(re.escape(namespace) + r"(?:\(\d+\))?(?=[_.])")
    for folder in folders:
        for path in _children(folder):
            target = temporary_target(path.name)
            match = pattern.match(target) if target else None
            if match and match.group(0) in stale:
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _marker(folder: Path, base_name: str) -> Path:
    return folder / f".{base_name}.lock"


def _markers(folder: Path, namespace: str) -> list[Path]:
    pattern = re.compile(r"\." + re.escape(namespace) + r"(?:\(\d+\))?\.lock")
    return [path for path in _children(folder) if pattern.fullmatch(path.name)]


def _children(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _try_lock(marker: Path) -> int | None:
    """An open descriptor of ``marker`` holding its exclusive lock, or None when another process holds it."""
    while True:
        descriptor = os.open(marker, os.O_RDWR | os.O_CREAT, 0o666)
        if not _lock(descriptor):
            os.close(descriptor)
            return None
        try:
            current = os.stat(marker).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(descriptor).st_ino:
            return descriptor
        os.close(descriptor)  # its holder removed the marker between our open and our lock: take the new one


def _lock(descriptor: int) -> bool:
    """Whether the lock was taken; False only when another process holds it. A file system that has no
    locks at all (some network shares) gets no protection rather than no render."""
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError as error:
        return fcntl is not None and error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK)
    return True
