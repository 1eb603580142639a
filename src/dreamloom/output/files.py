"""Writing files so that a crash never leaves a half-written frame, backup or log behind."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from dreamloom.errors import DreamloomError, shortened


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    The file gets the permissions of a file created normally (``0o666`` less the umask), not the private
    ``0o600`` of a temporary file, so pictures and videos stay readable to whoever could read the folder.
    """
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(descriptor)
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        # Name the file being written, not the temporary one (nor none, as a failed write() does).
        raise OSError(error.errno, error.strerror or str(error), str(path)) from error
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_target(name: str) -> str | None:
    """The name of the file that ``name``, a temporary file of :func:`write_atomically`, was to become; None
    when ``name`` is not one (a killed process leaves ``.NAME.XXXXXXXX.tmp`` behind)."""
    match = re.fullmatch(r"\.(.+)\.[a-z0-9_]{8}\.tmp", name)
    return match.group(1) if match else None


def save_png(image: Image.Image, path: Path) -> None:
    write_atomically(path, lambda temporary: image.save(temporary, format="PNG"))


def check_writable_folder(folder: Path, setting: str) -> None:
    """Check, creating nothing, that ``folder`` is or can become a folder dreamloom may write in, so a
    run that fails its other checks leaves no empty folders behind."""
    try:
        existing, missing = folder.absolute(), []
        while not existing.exists():
            missing.append(existing.name)
            existing = existing.parent
        if not existing.is_dir():
            problem = f"{existing} is a file, not a folder"
        elif any(len(os.fsencode(name)) > _longest_name(existing) for name in missing):
            problem = f"a folder name is longer than the file system allows ({_longest_name(existing)} bytes)"
        elif not os.access(existing, os.W_OK | os.X_OK):
            problem = f"{existing} is not writable"
        else:
            return
    except OSError as error:
        problem = error.strerror or str(error)
    raise DreamloomError(
        f"Cannot write to {shortened(str(folder))} (from {setting}): {problem}. Choose a folder you can write to."
    )


def _longest_name(folder: Path) -> int:
    """The longest file name, in bytes, the file system of ``folder`` takes (255 where it cannot be asked)."""
    return os.pathconf(folder, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255


def ensure_writable_folder(folder: Path, setting: str) -> None:
    """Create ``folder`` and check a file can be written there (a render does so once its pre-flight passes)."""
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
