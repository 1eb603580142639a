"""The scene language: ``scenes`` text into a tuple of :class:`Scene`, and back.

Splitting follows pytti exactly (prompts-and-perceptors §1.1-§1.3): ``||`` separates scenes (exactly
empty pieces dropped), ``scene_prefix + piece + scene_suffix`` is stripped and split at ``|``, empty
prompts dropped, and each prompt is ``text[:weight[_mask[_cutoff]][:stop]]`` with ``:`` and ``_``
protected inside ``[...]``. Where pytti would fail later (or silently read a typo as text) dreamloom
raises a :class:`PromptError` now, naming scene and prompt and pointing at the character.
"""

from __future__ import annotations

from collections.abc import Collection

from dreamloom.dsl.fields import DEFAULT_STOP, DEFAULT_WEIGHT, Place, parse_stop, parse_weight_field
from dreamloom.dsl.masks import format_mask
from dreamloom.dsl.splitting import GrammarError, Token, check_brackets, inside_brackets, is_bracketed, split
from dreamloom.dsl.tree import Prompt, Scene, SourceKind

SETTING = "scenes"


def parse_scenes(scenes: str, *, prefix: str = "", suffix: str = "",
                 variables: Collection[str] = ("t",)) -> tuple[Scene, ...]:
    """Parse the ``scenes`` setting; ``variables`` are the names weights, stops and cutoffs may read."""
    names = frozenset(variables)
    parsed: list[Scene] = []
    for piece in scenes.split("||"):
        if piece == "":
            continue
        prompts: list[Prompt] = []
        for raw in (prefix + piece + suffix).strip().split("|"):
            text = raw.strip()
            if text:
                place = Place(f"{SETTING}: scene {len(parsed) + 1}, prompt {len(prompts) + 1}", text, names)
                prompts.append(parse_prompt(place))
        parsed.append(Scene(len(parsed), tuple(prompts)))
    return tuple(parsed)


def parse_prompt(place: Place) -> Prompt:
    """One stripped prompt ``place.text`` into a :class:`Prompt`."""
    text = place.text
    try:
        check_brackets(text)
    except GrammarError as error:
        raise place.grammar_error(error) from None
    fields = split(Token(text, 0), ":", 2, inside_brackets(text))
    head = fields[0].stripped()
    if not head.text:
        raise place.error("empty prompt text", fields[0].start, "write what the image should show before the ':'")
    kind, source = SourceKind.TEXT, head.text
    if is_bracketed(head.text):
        kind, source = SourceKind.IMAGE, head.text[1:-1].strip()
        if not source:
            raise place.error("empty image path in '[]'", head.start + 1, "write the image path or URL, e.g. [cat.png]")
    weight, mask = parse_weight_field(fields[1], place) if len(fields) > 1 else (DEFAULT_WEIGHT, None)
    stop = parse_stop(fields[2], place) if len(fields) > 2 else DEFAULT_STOP
    return Prompt(kind, source, weight, stop, mask, text)


def format_prompt(prompt: Prompt) -> str:
    """The prompt in its shortest form; defaults (weight 1, no mask, stop -inf) are left out."""
    text = f"[{prompt.source}]" if prompt.kind is SourceKind.IMAGE else prompt.source
    has_stop = prompt.stop != DEFAULT_STOP
    if prompt.mask is None and prompt.weight == DEFAULT_WEIGHT and not has_stop:
        return text
    text += f":{prompt.weight.source}"
    if prompt.mask is not None:
        text += f"_{format_mask(prompt.mask)}"
        if prompt.mask.cutoff is not None:
            text += f"_{prompt.mask.cutoff.source}"
    return f"{text}:{prompt.stop.source}" if has_stop else text


def format_scenes(scenes: tuple[Scene, ...]) -> str:
    """Scene text that :func:`parse_scenes` reads back into an equal tree (an empty scene prints as ' ')."""
    return " || ".join(" | ".join(format_prompt(p) for p in scene.prompts) or " " for scene in scenes)
