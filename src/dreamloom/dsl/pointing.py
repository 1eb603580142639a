"""Error messages that point: the offending text on one line, a caret under the character at fault."""

from __future__ import annotations

_INDENT = "    "


def caret_lines(text: str, offset: int) -> str:
    """``text`` indented, then a caret under character ``offset`` (clamped to just after the end)."""
    shown = "".join(" " if ch in "\t\n\r\f\v" else ch for ch in text)
    offset = max(0, min(offset, len(shown)))
    return f"{_INDENT}{shown}\n{_INDENT}{' ' * offset}^"


def pointed_message(where: str, reason: str, text: str, offset: int, hint: str = "") -> str:
    """``where: reason``, the text with a caret, and an optional hint line."""
    message = f"{where}: {reason}\n{caret_lines(text, offset)}"
    return f"{message}\n  {hint}" if hint else message
