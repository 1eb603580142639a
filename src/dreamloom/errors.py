"""dreamloom's user-facing errors.

Every failure a user can cause is raised as a :class:`DreamloomError` subclass whose message names the
setting or file at fault and says what to do. The CLI prints the message alone (no traceback) and exits
with the error's ``exit_code``.
"""

from __future__ import annotations


class DreamloomError(Exception):
    """A problem the user can fix; the message is complete and printed as is."""

    exit_code: int = 1


class SettingsError(DreamloomError):
    """A bad setting, config file or command-line override (exit code 2, like argparse)."""

    exit_code = 2


class PromptError(SettingsError):
    """A scene, prompt or expression that cannot be parsed or is not allowed."""


class InputFileError(DreamloomError):
    """A file named by a setting (image, mask, video, audio) is missing, unreadable or corrupt."""


class WeightsError(DreamloomError):
    """Model weights are missing, corrupt or cannot be fetched."""


class RenderInterrupted(DreamloomError):
    """The user stopped a render (Ctrl-C); the message says how to resume. Exit code 130, like a shell."""

    exit_code = 130


class OutputError(DreamloomError):
    """A file of the run could not be written (disk full, read-only or vanished folder); what was
    finished before stays on disk."""


class OutOfMemory(DreamloomError):
    """The device ran out of memory for these settings; the message names the settings that cost memory."""


def shortened(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, so a message names what the user wrote (a path,
    a prompt) without echoing a pasted megabyte."""
    return text if len(text) <= limit else text[:limit] + "…"


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` :func:`shortened`, then quoted as ``repr`` quotes it (for prompts)."""
    return repr(shortened(text, limit))
