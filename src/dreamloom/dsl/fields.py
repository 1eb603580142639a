"""The parts shared by every prompt-like string: the ``weight[_mask[_cutoff]]`` field and the stop.

pytti splits the weight field at ``_`` with brackets protecting (prompts-and-perceptors §1.2). dreamloom
adds one protection no valid pytti config contradicts: an ``_`` inside matched parentheses is not a
separator either, so ``(fLo_prev)`` is a weight. Parentheses do *not* protect ``:``: no expression needs a
colon, and a ``(`` in prompt text must not change where the text ends.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dreamloom.dsl.expressions import Expression, ExpressionError, compile_expression
from dreamloom.dsl.masks import parse_mask
from dreamloom.dsl.pointing import pointed_message
from dreamloom.dsl.splitting import GrammarError, Token, first_unprotected, inside_brackets, inside_parentheses, split
from dreamloom.dsl.tree import Mask
from dreamloom.errors import PromptError

DEFAULT_WEIGHT = compile_expression("1", setting="default weight", variables=())
DEFAULT_STOP = compile_expression("-inf", setting="default stop", variables=(), finite=False)


@dataclass(frozen=True)
class Place:
    """Where a prompt-like string sits, for messages: ``label`` (``scenes: scene 2, prompt 1``), the
    ``text`` the caret points into, and the ``variables`` its expressions may read."""

    label: str
    text: str
    variables: Collection[str]

    def error(self, reason: str, offset: int, hint: str = "") -> PromptError:
        return PromptError(pointed_message(self.label, reason, self.text, offset, hint))

    def grammar_error(self, error: GrammarError) -> PromptError:
        return self.error(error.reason, error.offset, error.hint)

    def expression(self, token: Token, role: str) -> Expression:
        """Compile ``token`` as the ``role`` (weight, stop, cutoff) of this prompt, pointing into it on error."""
        try:
            return compile_expression(token.text, setting=f"{self.label} ({role})", variables=self.variables,
                                      scalar=True, finite=role != "stop")
        except ExpressionError as error:
            raise self.error(f"bad {role}: {error.reason}", token.start + error.offset, error.hint) from None


def parse_weight_field(token: Token, place: Place, *, paths_only: bool = False) -> tuple[Expression, Mask | None]:
    """``weight[_mask[_cutoff]]`` (or ``weight[_path]`` with ``paths_only``) into a weight and a mask."""
    protected = inside_brackets(token.text) | inside_parentheses(token.text)
    parts = split(token, "_", 1 if paths_only else 2, protected)
    if not parts[0].text.strip():
        if token.text.lstrip().startswith("__"):
            place.expression(token, "weight")  # a dunder name (``__import__(…)``): say what is refused in it
        raise place.error("empty weight", parts[0].start, "write a number or an expression, e.g. 2 or sin(t)")
    _refuse_split_variable(parts, place)
    weight = place.expression(parts[0], "weight")
    cutoff = None
    if len(parts) > 2:
        if not parts[2].text.strip():
            raise place.error("empty cutoff after '_'", parts[2].start, "write a number, e.g. _0.5, or drop the '_'")
        cutoff = place.expression(parts[2], "cutoff")
    if len(parts) == 1:
        return weight, None
    try:
        return weight, parse_mask(parts[1], cutoff, paths_only=paths_only)
    except GrammarError as error:
        raise place.grammar_error(error) from None


def parse_stop(token: Token, place: Place) -> Expression:
    """The stop field; it is never split at ``_``, and a further ``:`` means one field too many."""
    if not token.text.strip():
        raise place.error("empty stop after ':'", token.start, "write a number, e.g. :-0.9, or drop the ':'")
    extra = first_unprotected(token.text, ":", inside_brackets(token.text))
    if extra >= 0:
        raise place.error("too many ':' fields", token.shifted(extra),
                          "the stop is the last field; a mask goes with the weight, e.g. text:2_r:0.5")
    return place.expression(token, "stop")


def _refuse_split_variable(parts: list[Token], place: Place) -> None:
    """``fLo_prev`` in a weight splits into weight ``fLo`` and mask ``prev`` (as in pytti); when the two
    pieces spell a variable that is surely a mistake, so say how to write it."""
    for count in range(2, len(parts) + 1):
        joined = "_".join(part.text for part in parts[:count]).strip()
        if joined in place.variables:
            raise place.error(f"'{joined}' is split at '_' into weight and mask", parts[1].start - 1,
                              f"write ({joined}) to use the variable as the weight")
