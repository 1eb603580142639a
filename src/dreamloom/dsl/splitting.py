"""Field splitting with protected characters: pytti's ``re.split`` with ``maxsplit``, made position-aware.

pytti splits a prompt at ``:`` and its weight field at ``_`` unless the separator sits inside ``[...]``
(regex ``sep(?![^\\[]*\\])``). For balanced, unnested brackets that is exactly "inside a bracket pair",
which is the rule used here; dreamloom requires brackets to balance, so both readings agree. Every token
keeps its start offset so that errors can put a caret under the right character.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dreamloom.dsl.pointing import PointedError


class GrammarError(PointedError):
    """A malformed prompt."""


@dataclass(frozen=True)
class Token:
    """A piece of a prompt and where it starts in the prompt."""

    text: str
    start: int

    def stripped(self) -> Token:
        """The token without surrounding whitespace, its start moved past the leading whitespace."""
        lead = len(self.text) - len(self.text.lstrip())
        return Token(self.text.strip(), self.start + lead)

    def shifted(self, local: int) -> int:
        """Prompt offset of position ``local`` inside this token."""
        return self.start + local


def check_brackets(text: str) -> None:
    """Raise unless every ``[`` in ``text`` is closed by a later ``]`` and no ``]`` is left over."""
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "[":
            opened.append(index)
        elif char == "]":
            if not opened:
                raise GrammarError("']' without a matching '['", index)
            opened.pop()
    if opened:
        raise GrammarError("'[' is never closed", opened[0])


def inside_brackets(text: str) -> frozenset[int]:
    """Positions strictly inside a ``[...]`` group (brackets are known to balance)."""
    positions: set[int] = set()
    depth = 0
    for index, char in enumerate(text):
        if char == "]":
            depth -= 1
        if depth > 0:
            positions.add(index)
        if char == "[":
            depth += 1
    return frozenset(positions)


def inside_parentheses(text: str) -> frozenset[int]:
    """Positions inside a *matched* ``(...)`` pair; an unmatched parenthesis protects nothing."""
    positions: set[int] = set()
    opened: list[int] = []
    for index, char in enumerate(text):
        if char == "(":
            opened.append(index)
        elif char == ")" and opened:
            positions.update(range(opened.pop() + 1, index))
    return frozenset(positions)


def url_and_drive_colons(text: str) -> frozenset[int]:
    """Colons that belong to a path: ``scheme://`` and Windows drive letters like ``C:\\`` or ``C:/``.

    A drive letter is one ASCII letter at the start of the text or right after ``_``, ``-`` or ``[``,
    followed by ``:`` and a slash or backslash. No weight or stop expression can look like that.
    """
    colons: set[int] = set()
    for index, char in enumerate(text):
        if char != ":":
            continue
        after = text[index + 1:index + 3]
        if after == "//":
            colons.add(index)
        elif after[:1] in ("/", "\\") and index >= 1 and text[index - 1].isascii() and text[index - 1].isalpha():
            if index == 1 or text[index - 2] in "_-[":
                colons.add(index)
    return frozenset(colons)


def split(token: Token, separator: str, maxsplit: int, protected: Collection[int]) -> list[Token]:
    """Split ``token`` at unprotected ``separator`` characters, at most ``maxsplit`` times.

    ``protected`` holds offsets local to the token. Like ``re.split`` with ``maxsplit``, whatever follows
    the last allowed split stays in the last piece.
    """
    pieces: list[Token] = []
    begin = 0
    for index, char in enumerate(token.text):
        if len(pieces) == maxsplit:
            break
        if char == separator and index not in protected:
            pieces.append(Token(token.text[begin:index], token.start + begin))
            begin = index + 1
    pieces.append(Token(token.text[begin:], token.start + begin))
    return pieces


def first_unprotected(text: str, separator: str, protected: Collection[int]) -> int:
    """Index of the first unprotected ``separator`` in ``text``, or -1."""
    for index, char in enumerate(text):
        if char == separator and index not in protected:
            return index
    return -1


def is_bracketed(text: str) -> bool:
    """True when ``text`` is one ``[...]`` group: the ``[`` at 0 is closed by the ``]`` at the end."""
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if depth == 0:
            return index == len(text) - 1
    return False
