"""The failures a user meets that are not dreamloom's own errors (a full disk, a read-only folder, a name
too long, memory running out), turned into one sentence that says what happened and what to do.

The render adds where the finished pictures are; the CLI prints the result instead of a traceback. Anything
not recognised here is an internal error: the CLI says so and points at ``--debug``.
"""

from __future__ import annotations

import errno
import sys

from dreamloom.errors import DreamloomError, OutOfMemory, shortened

_OS_REASONS = {
    errno.ENOSPC: ("no space is left on the disk", "Free some space, or choose output_dir/backup_dir on another disk"),
    errno.EROFS: ("the file system is read-only", "Choose an output_dir/backup_dir you can write to"),
    errno.EACCES: ("permission denied", "Choose a folder you can write to, or change its permissions"),
    errno.EPERM: ("operation not permitted", "Choose a folder you can write to, or change its permissions"),
    errno.ENAMETOOLONG: ("the name is too long for the file system", "Use a shorter file or folder name (file_namespace included)"),
    errno.ENOENT: ("the file or folder does not exist (it may have been moved or deleted)", "Check the path"),
    errno.EISDIR: ("it is a folder, not a file", "Remove the folder or choose another name"),
    errno.EIO: ("the disk reported an input/output error", "Check the disk (or the network drive) and try again"),
}


def describe_os_error(error: OSError) -> str:
    """``<file>: <what happened>. <what to do>.``; the file name cut short if it is itself the problem."""
    reason, advice = _OS_REASONS.get(error.errno or 0, (error.strerror or str(error), "Check the file and the folder"))
    where = f"{shortened(str(error.filename))}: " if error.filename is not None else ""
    return f"{where}{reason}. {advice}."


def is_out_of_memory(error: BaseException) -> bool:
    """Memory running out, on any device: Python's MemoryError, torch's OutOfMemoryError (CUDA), and the
    RuntimeErrors the CPU and MPS allocators raise."""
    torch = sys.modules.get("torch")  # no torch error exists unless torch was imported; the CLI stays light
    if isinstance(error, MemoryError) or (torch is not None and isinstance(error, torch.cuda.OutOfMemoryError)):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


def out_of_memory() -> OutOfMemory:
    """The advice for memory running out: the settings that cost memory."""
    return OutOfMemory(
        "Out of memory. Lower width and height, cutouts (or raise gradient_accumulation_steps, which splits "
        "them into batches), or use fewer or smaller perceptors."
    )


def user_error(error: BaseException) -> DreamloomError | None:
    """The dreamloom error a foreseeable failure stands for; None for an internal error (a bug)."""
    if isinstance(error, DreamloomError):
        return error
    if isinstance(error, OSError):
        return DreamloomError(describe_os_error(error))
    if is_out_of_memory(error):
        return out_of_memory()
    return None
