"""Writing files so that a crash never leaves a half-written frame, backup or log behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from dreamloom.errors import DreamloomError


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    The file gets the permissions of a file created normally (``0o666`` less the umask), not the private
    ``0o600`` of a temporary file, so pictures and videos stay readable to whoever could read the folder.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save_png(image: Image.Image, path: Path) -> None:
    write_atomically(path, lambda temporary: image.save(temporary, format="PNG"))


def ensure_writable_folder(folder: Path, setting: str) -> None:
    """Create ``folder`` and check a file can be written there, before any long work starts."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".dreamloom-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise DreamloomError(
            f"Cannot write to {folder} (from {setting}): {error.strerror or error}. "
            f"Choose a folder you can write to."
        ) from None
