"""Error messages that point: the offending text on one line, a caret under the character at fault."""

from __future__ import annotations

_INDENT = "    "
_WINDOW = 120


class PointedError(Exception):
    """A rejected piece of text: ``reason``, the 0-based ``offset`` of the character at fault, a ``hint``.

    Internal to the scene language; callers turn it into a PromptError with :func:`pointed_message`.
    """

    def __init__(self, reason: str, offset: int, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.hint = hint


def caret_lines(text: str, offset: int) -> str:
    """``text`` indented, then a caret under character ``offset`` (clamped to just after the end).

    A text longer than ``_WINDOW`` characters shows only the window around the fault, cut ends marked
    with an ellipsis, so a pasted megabyte does not bury the message.
    """
    shown = "".join(" " if ch in "\t\n\r\f\v" else ch for ch in text)
    offset = max(0, min(offset, len(shown)))
    start = max(0, min(offset - _WINDOW // 2, len(shown) - _WINDOW))
    left = "…" if start > 0 else ""
    right = "…" if start + _WINDOW < len(shown) else ""
    window = left + shown[start : start + _WINDOW] + right
    return f"{_INDENT}{window}\n{_INDENT}{' ' * (len(left) + offset - start)}^"


def pointed_message(where: str, reason: str, text: str, offset: int, hint: str = "") -> str:
    """``where: reason``, the text with a caret, and an optional hint line."""
    message = f"{where}: {reason}\n{caret_lines(text, offset)}"
    return f"{message}\n  {hint}" if hint else message
