"""The typed prompt tree that the scene language parses into.

Loss code consumes these objects; nothing downstream re-parses prompt strings. Expressions are kept as
compiled :class:`~dreamloom.dsl.expressions.Expression` objects, evaluated per step with the current
variables (``t``, audio bands, ...).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dreamloom.dsl.expressions import Expression


class SourceKind(enum.Enum):
    """What a prompt asks the image to look like."""

    TEXT = "text"
    IMAGE = "image"


class MaskKind(enum.Enum):
    """Where on the image a prompt applies."""

    POSITIONAL = "positional"  # one of the letters a r l d u n f
    SEMANTIC = "semantic"  # a text phrase compared with each cutout
    IMAGE = "image"  # a still image, bright = applies
    VIDEO = "video"  # an .mp4 whose frames follow the animation


POSITIONAL_LETTERS = ("a", "r", "l", "d", "u", "n", "f")
_LABEL_LIMIT = 27


def display_label(text: str) -> str:
    """pytti's label rule (prompts-and-perceptors §1.3): drop non-ASCII characters; beyond 27 characters
    keep the first 20, ``..`` and the last 5."""
    ascii_only = "".join(ch for ch in text if ch.isascii())
    if len(ascii_only) > _LABEL_LIMIT:
        return f"{ascii_only[:20]}..{ascii_only[-5:]}"
    return ascii_only


@dataclass(frozen=True)
class Mask:
    """A prompt's mask. ``letter`` is set for POSITIONAL, ``text`` for SEMANTIC, ``path`` for IMAGE/VIDEO.

    ``cutoff`` is None when the prompt gives none (pytti's "continuous" semantic mask case).
    """

    kind: MaskKind
    letter: str | None = None
    text: str | None = None
    path: str | None = None
    inverted: bool = False
    cutoff: Expression | None = None


@dataclass(frozen=True)
class Prompt:
    """One ``text[:weight[_mask[_cutoff]][:stop]]`` entry of a scene.

    ``source`` is the text for TEXT prompts and the path or URL (brackets removed) for IMAGE prompts.
    ``mask`` is None for the whole image (pytti's letter ``a``). ``original`` is the prompt as written
    (after ``scene_prefix``/``scene_suffix`` and stripping), kept for messages; it takes no part in
    equality, so a printed and re-parsed tree equals the original tree.
    """

    kind: SourceKind
    source: str
    weight: Expression
    stop: Expression
    mask: Mask | None
    original: str = field(compare=False)

    @property
    def label(self) -> str:
        """pytti's display label (loss-log column): TEXT prompts show their text, IMAGE prompts
        ``[path] (semantic)``; see :func:`display_label`."""
        if self.kind is SourceKind.IMAGE:
            return display_label(f"[{self.source}] (semantic)")
        return display_label(self.source)


@dataclass(frozen=True)
class WeightSpec:
    """A weight-like setting (``direct_init_weight``, ``*_stabilization_weight``...) as
    ``weight[_mask][:stop]``. A disabled setting is None, never a WeightSpec."""

    weight: Expression
    stop: Expression
    mask: Mask | None


@dataclass(frozen=True)
class Scene:
    """The prompts active together; ``index`` is 0-based in the order of ``scenes``."""

    index: int
    prompts: tuple[Prompt, ...]
