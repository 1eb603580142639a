"""The typed prompt tree that the scene language parses into.

Loss code consumes these objects; nothing downstream re-parses prompt strings. Expressions are kept as
compiled :class:`~dreamloom.dsl.expressions.Expression` objects, evaluated per step with the current
variables (``t``, audio bands, ...).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
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
    ``mask`` is None for the whole image (pytti's letter ``a``). ``original`` is the prompt as written,
    used for labels and error messages.
    """

    kind: SourceKind
    source: str
    weight: Expression
    stop: Expression
    mask: Mask | None
    original: str


@dataclass(frozen=True)
class Scene:
    """The prompts active together; ``index`` is 0-based in the order of ``scenes``."""

    index: int
    prompts: tuple[Prompt, ...]
