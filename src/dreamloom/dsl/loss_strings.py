"""Prompt-like settings outside ``scenes``: weight settings of image losses and ``direct_image_prompts``.

pytti reads two families (animation-losses-outputs §6.2, §6.10; prompts-and-perceptors §1.7, §1.8):

* ``semantic_init_weight`` and ``semantic_stabilization_weight`` become CLIP image prompts, so their
  weight field is the scene grammar's ``weight[_mask[_cutoff]][:stop]``: masks are letters, semantic
  phrases or bracketed files.
* ``direct_init_weight``, ``direct_/depth_/edge_/flow_stabilization_weight`` and ``direct_image_prompts``
  feed pixel losses: the weight field is ``weight[_mask]`` split at the first ``_``, and the mask is a
  file path, bracketed or bare (``1_mask.mp4``).

Colons: ``[...]`` protects them everywhere. In the path family a colon is also part of a path when it
is followed by ``//`` (``https://``, any scheme and anywhere, where pytti protects only ``https://`` and a
leading ``http://``) or is a Windows drive letter (``C:\\`` or ``C:/`` at the start of a path, after ``_``
or ``-``); pytti splits such paths apart.
"""

from __future__ import annotations

from collections.abc import Collection

from dreamloom.dsl.fields import DEFAULT_STOP, DEFAULT_WEIGHT, Place, parse_stop, parse_weight_field
from dreamloom.dsl.expressions import compile_expression
from dreamloom.dsl.splitting import (GrammarError, Token, check_brackets, inside_brackets, is_bracketed, split,
                                     url_and_drive_colons)
from dreamloom.dsl.tree import Prompt, SourceKind, WeightSpec

DIRECT_IMAGE_PROMPTS = "direct_image_prompts"


def parse_weight_setting(text: str | int | float, *, setting: str, variables: Collection[str]) -> WeightSpec | None:
    """A weight setting into a :class:`WeightSpec`; None when disabled.

    Disabled means ``''`` or a weight that is the constant 0 (``0``, ``"0"``, ``"0.0"``, ``"0_mask.mp4"``):
    pytti skips such a loss, or computes it only to multiply it by zero. Settings named ``semantic_*``
    use the scene grammar for their mask; all others take a file path.
    """
    if not isinstance(text, str):
        return None if text == 0 else WeightSpec(compile_expression(text, setting=setting, variables=variables),
                                                 DEFAULT_STOP, None)
    stripped = text.strip()
    if not stripped:
        return None
    place = Place(setting, stripped, frozenset(variables))
    paths_only = not setting.startswith("semantic_")
    fields = _split_colons(place, 1, paths_only)
    weight, mask = parse_weight_field(fields[0], place, paths_only=paths_only)
    if weight.constant == 0:
        return None
    stop = parse_stop(fields[1], place) if len(fields) > 1 else DEFAULT_STOP
    return WeightSpec(weight, stop, mask)


def parse_direct_image_prompts(text: str, *, variables: Collection[str]) -> tuple[Prompt, ...]:
    """``path[:weight[_mask][:stop]]`` entries separated by ``|`` into IMAGE prompts (brackets optional).

    These feed pixel losses, not CLIP: callers label them ``"<source> (direct)"`` as pytti does.
    """
    prompts: list[Prompt] = []
    for raw in text.split("|"):
        piece = raw.strip()
        if piece:
            place = Place(f"{DIRECT_IMAGE_PROMPTS}: prompt {len(prompts) + 1}", piece, frozenset(variables))
            prompts.append(_direct_prompt(place))
    return tuple(prompts)


def _direct_prompt(place: Place) -> Prompt:
    fields = _split_colons(place, 2, paths_only=True)
    head = fields[0].stripped()
    if is_bracketed(head.text):
        head = Token(head.text[1:-1], head.start + 1).stripped()
    if not head.text:
        raise place.error("empty image path", head.start, "write the image path or URL before the ':'")
    weight, mask = parse_weight_field(fields[1], place, paths_only=True) if len(fields) > 1 else (DEFAULT_WEIGHT, None)
    stop = parse_stop(fields[2], place) if len(fields) > 2 else DEFAULT_STOP
    return Prompt(SourceKind.IMAGE, head.text, weight, stop, mask, place.text)


def _split_colons(place: Place, maxsplit: int, paths_only: bool) -> list[Token]:
    try:
        check_brackets(place.text)
    except GrammarError as error:
        raise place.grammar_error(error) from None
    protected = inside_brackets(place.text)
    if paths_only:
        protected |= url_and_drive_colons(place.text)
    return split(Token(place.text, 0), ":", maxsplit, protected)
