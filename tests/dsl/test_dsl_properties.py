"""Property tests: arbitrary text only ever raises PromptError; printed trees parse back equal."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamloom.dsl.expressions import compile_expression
from dreamloom.dsl.grammar import format_scenes, parse_scenes
from dreamloom.dsl.loss_strings import parse_direct_image_prompts, parse_weight_setting
from dreamloom.dsl.tree import POSITIONAL_LETTERS, Mask, MaskKind, Prompt, Scene, SourceKind
from dreamloom.errors import PromptError

VARIABLES = ("t", "fLo", "fLo_prev")
FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GRAMMAR_CHARS = "ab rt_:|[]()-.,0123456789*+/<>=%!é\\\n"
grammar_text = st.text(alphabet=GRAMMAR_CHARS, max_size=40)
any_text = st.one_of(grammar_text, st.text(max_size=40))
EXPRESSION_CHARS = "tfLo_prev0123456789.+-*/%()[], <>=!abcdeinsxplqr\\'\"{}:@~&|^"
expression_text = st.one_of(st.text(alphabet=EXPRESSION_CHARS, max_size=30), st.text(max_size=30))


def _split_outside(text: str, separator: str, maxsplit: int, brackets: str) -> list[str]:
    """Plain reference split (prompts-and-perceptors.md §1.2): ``separator`` outside the bracket pairs in
    ``brackets`` ("[]" or "[]()"), at most ``maxsplit`` times, the rest staying in the last piece."""
    pieces, current, depth = [], "", 0
    for char in text:
        if char in brackets[::2]:
            depth += 1
        elif char in brackets[1::2]:
            depth = max(depth - 1, 0)
        if char == separator and depth == 0 and len(pieces) < maxsplit:
            pieces.append(current)
            current = ""
        else:
            current += char
    return [*pieces, current]


def _reference_scenes(scenes: str, prefix: str, suffix: str) -> list[list[str]]:
    """pytti's scene and prompt split (§1.1): '||', exactly empty pieces dropped, strip, '|', strip, drop empty."""
    return [[p.strip() for p in (prefix + piece + suffix).strip().split("|") if p.strip()]
            for piece in scenes.split("||") if piece != ""]


def _check_against_reference(tree: tuple[Scene, ...], scenes: str, prefix: str = "", suffix: str = "") -> None:
    expected = _reference_scenes(scenes, prefix, suffix)
    assert [[p.original for p in scene.prompts] for scene in tree] == expected
    assert [scene.index for scene in tree] == list(range(len(expected)))
    for scene in tree:
        for prompt in scene.prompts:
            fields = _split_outside(prompt.original, ":", 2, "[]")
            head = fields[0].strip()
            if head.startswith("[") and head.endswith("]"):
                assert (prompt.kind, prompt.source) == (SourceKind.IMAGE, head[1:-1].strip())
            else:
                assert (prompt.kind, prompt.source) == (SourceKind.TEXT, head)
            assert prompt.stop.source == (fields[2].strip() if len(fields) == 3 else "-inf")
            if len(fields) == 1:
                assert prompt.weight.source == "1" and prompt.mask is None
                continue
            parts = _split_outside(fields[1], "_", 2, "[]()")
            assert prompt.weight.source == parts[0].strip()
            if len(parts) == 1:
                assert prompt.mask is None
            elif len(parts) == 3:
                assert prompt.mask is not None and prompt.mask.cutoff is not None
                assert prompt.mask.cutoff.source == parts[2].strip()


@FAST
@given(any_text, any_text, any_text)
def test_parse_scenes_only_raises_prompt_error(scenes: str, prefix: str, suffix: str) -> None:
    """Any text either raises a PromptError or parses into the fields pytti's split rules give."""
    try:
        tree = parse_scenes(scenes, prefix=prefix, suffix=suffix, variables=VARIABLES)
    except PromptError:
        return
    _check_against_reference(tree, scenes, prefix, suffix)


@pytest.mark.parametrize(("scenes", "expected"), [
    ("a|||b", [["a"], ["b"]]),
    ("a || || b", [["a"], [], ["b"]]),
    (" x:2 | [y.png]:1:0.5 ", [["x:2", "[y.png]:1:0.5"]]),
])
def test_reference_split_examples(scenes: str, expected: list[list[str]]) -> None:
    """The reference itself, on the examples of prompts-and-perceptors.md §1.1."""
    assert _reference_scenes(scenes, "", "") == expected
    _check_against_reference(parse_scenes(scenes, variables=VARIABLES), scenes)


@FAST
@given(any_text, st.sampled_from(["direct_init_weight", "semantic_init_weight", "edge_stabilization_weight"]))
def test_other_prompt_settings_only_raise_prompt_error(text: str, setting: str) -> None:
    """Any text parses or raises a PromptError that names the setting (and the prompt) and points into it."""
    try:
        spec = parse_weight_setting(text, setting=setting, variables=VARIABLES)
    except PromptError as error:
        _assert_points_into(str(error), setting, text.strip())
    else:
        assert spec is None if not text.strip() else (spec is None or spec.weight.constant != 0)
    pieces = [piece.strip() for piece in text.split("|") if piece.strip()]
    try:
        prompts = parse_direct_image_prompts(text, variables=VARIABLES)
    except PromptError as error:
        number = int(str(error).split(": ", 2)[1].removeprefix("prompt "))
        _assert_points_into(str(error), f"direct_image_prompts: prompt {number}", pieces[number - 1])
        assert len(parse_direct_image_prompts("|".join(pieces[:number - 1]), variables=VARIABLES)) == number - 1
    else:
        assert [(prompt.original, prompt.kind) for prompt in prompts] == [(piece, SourceKind.IMAGE) for piece in pieces]


def _assert_points_into(message: str, label: str, text: str) -> None:
    """``label: reason``, then ``text`` (whitespace shown as spaces), then a caret inside it or just after."""
    lines = message.split("\n")
    assert lines[0].startswith(f"{label}: ") and len(lines[0]) > len(label) + 2
    assert lines[1] == "    " + "".join(" " if char in "\t\n\r\f\v" else char for char in text)
    assert lines[2].startswith("    ") and lines[2].endswith("^") and set(lines[2][4:-1]) <= {" "}
    assert len(lines[2]) - 5 <= len(text)


@FAST
@given(expression_text, st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_expressions_only_raise_prompt_error(source: str, t: float, f: float) -> None:
    try:
        expression = compile_expression(source, setting="x", variables=VARIABLES)
    except PromptError:
        return
    try:
        result = expression.evaluate({"t": t, "fLo": f, "fLo_prev": f})
    except PromptError:
        return
    items = result if isinstance(result, tuple) else (result,)
    assert all(type(item) is float and not math.isnan(item) for item in items)


@FAST
@given(grammar_text)
def test_parsed_text_prints_and_parses_back(text: str) -> None:
    try:
        tree = parse_scenes(text, variables=VARIABLES)
    except PromptError:
        return
    _check_against_reference(tree, text)  # both sides of the round trip checked against pytti's rules
    printed = format_scenes(tree)
    again = parse_scenes(printed, variables=VARIABLES)
    assert again == tree
    _check_against_reference(again, printed)


# ---- generated trees ------------------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789é'!,.-()_", min_size=1, max_size=8)
WEIGHTS = ["1", "2", "-1", "0.5", "0", "sin(t)", "10*fLo + sin(t)", "(fLo_prev)", "[fLo_prev]",
           "1 if t < 5 else -1", "max(t, 1)", "1.0"]
STOPS = ["-inf", "0.9", "-0.9", "fLo_prev", "t/10", "-inf + 0"]
CUTOFFS = ["0.3", "t/10", "(fLo_prev)", "fLo_prev", "0.5"]


def expression(source: str, finite: bool = True):  # type: ignore[no-untyped-def]
    return compile_expression(source, setting="generated", variables=VARIABLES, scalar=True, finite=finite)


@st.composite
def phrases(draw: st.DrawFn) -> str:
    """Words joined by spaces, maybe with a bracket group inside that holds ':' and '_'."""
    words = draw(st.lists(WORD, min_size=1, max_size=4))
    if draw(st.booleans()):
        words.insert(draw(st.integers(1, len(words))), f"[{draw(WORD)}:{draw(WORD)}]")
    return " ".join(words)


@st.composite
def paths(draw: st.DrawFn) -> tuple[str, bool]:
    stem = draw(st.text(alphabet="abcxyz0123456789_/:.\\ ", min_size=1, max_size=12)).strip()
    suffix = draw(st.sampled_from([".png", ".jpg", ".mp4", ".mov", ""]))
    path = "p" + stem + suffix
    return path, suffix in (".mp4", ".mov")


@st.composite
def masks(draw: st.DrawFn) -> Mask | None:
    kind = draw(st.sampled_from(["none", "letter", "semantic", "file"]))
    cutoff = draw(st.none() | st.sampled_from(CUTOFFS).map(expression))
    if kind == "none":
        return None
    if kind == "letter":
        return Mask(MaskKind.POSITIONAL, letter=draw(st.sampled_from(POSITIONAL_LETTERS[1:])), cutoff=cutoff)
    if kind == "semantic":
        text = draw(st.lists(st.text(alphabet="abcxyzR0123456789-.", min_size=1, max_size=6),
                             min_size=1, max_size=3).map(" ".join))
        if text in POSITIONAL_LETTERS:
            text += " sky"
        return Mask(MaskKind.SEMANTIC, text=text, cutoff=cutoff)
    path, video = draw(paths())
    return Mask(MaskKind.VIDEO if video else MaskKind.IMAGE, path=path, inverted=draw(st.booleans()), cutoff=cutoff)


@st.composite
def prompts(draw: st.DrawFn) -> Prompt:
    if draw(st.booleans()):
        kind, source = SourceKind.TEXT, draw(phrases())
    else:
        kind, source = SourceKind.IMAGE, draw(paths())[0]
    weight = expression(draw(st.sampled_from(WEIGHTS)))
    stop = expression(draw(st.sampled_from(STOPS)), finite=False)
    return Prompt(kind, source, weight, stop, draw(masks()), original="")


@st.composite
def trees(draw: st.DrawFn) -> tuple[Scene, ...]:
    scenes = draw(st.lists(st.lists(prompts(), max_size=4), max_size=4))
    return tuple(Scene(index, tuple(items)) for index, items in enumerate(scenes))


@FAST
@given(trees())
def test_printed_tree_parses_back_to_the_same_tree(tree: tuple[Scene, ...]) -> None:
    printed = format_scenes(tree)
    parsed = parse_scenes(printed, variables=VARIABLES)
    assert parsed == tree
    _check_against_reference(parsed, printed)
