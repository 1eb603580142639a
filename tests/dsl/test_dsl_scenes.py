"""Scene splitting, prefix/suffix gluing, numbering in errors, labels and printing (pytti §1.1, §1.3)."""

from __future__ import annotations

import pytest

from dreamloom.dsl.grammar import format_scenes, parse_scenes
from dreamloom.dsl.tree import MaskKind, Scene, SourceKind, display_label
from dreamloom.errors import PromptError


def sources(scenes: tuple[Scene, ...]) -> list[list[str]]:
    return [[p.source for p in scene.prompts] for scene in scenes]


def test_issue_example() -> None:
    scenes = parse_scenes("a forest:2 | fog:-1:-0.9 | dragon:3_[mask.png] || a city at night:sin(t)+1_r")
    assert sources(scenes) == [["a forest", "fog", "dragon"], ["a city at night"]]
    assert [s.index for s in scenes] == [0, 1]
    city = scenes[1].prompts[0]
    assert city.weight.evaluate({"t": 0.0}) == 1.0 and city.mask is not None and city.mask.letter == "r"
    assert scenes[0].prompts[1].stop.constant == -0.9
    assert scenes[0].prompts[2].mask is not None and scenes[0].prompts[2].mask.kind is MaskKind.IMAGE


@pytest.mark.parametrize(("text", "expected"), [
    ("a|||b", [["a"], ["b"]]),  # '||' first: scenes 'a' and '|b'
    ("a || || b", [["a"], [], ["b"]]),  # a whitespace-only scene is kept, empty
    ("a||||b", [["a"], ["b"]]),  # exactly empty pieces are dropped
    ("||a||", [["a"]]),
    ("", []),
    ("a | | b |", [["a", "b"]]),
    ("a\n|\tb", [["a", "b"]]),
])
def test_scene_and_prompt_splitting(text: str, expected: list[list[str]]) -> None:
    assert sources(parse_scenes(text)) == expected


def test_prefix_and_suffix_are_glued_raw() -> None:
    glued = parse_scenes("a cat || a dog", prefix="oil painting of ", suffix=":2")
    assert sources(glued) == [["oil painting of a cat"], ["oil painting of  a dog"]]  # raw glue keeps both spaces
    assert all(scene.prompts[0].weight.source == "2" for scene in glued)
    extra = parse_scenes("a cat || a dog", prefix="oil painting | ")
    assert sources(extra) == [["oil painting", "a cat"], ["oil painting", "a dog"]]
    assert sources(parse_scenes(" ", prefix="x")) == [["x"]]


def test_error_numbers_scene_and_prompt_after_dropping_empty_pieces() -> None:
    with pytest.raises(PromptError) as caught:
        parse_scenes("a |  | b || c | d:1_ | e")
    assert str(caught.value).splitlines() == [
        "scenes: scene 2, prompt 2: empty mask after '_'",
        "    d:1_",
        "        ^",
        "  write a letter, a phrase or a [file] after the '_', or drop it",
    ]


def test_prefix_errors_point_into_the_glued_prompt() -> None:
    with pytest.raises(PromptError, match=r"scene 1, prompt 1: bad weight") as caught:
        parse_scenes("a cat", suffix=":zz")
    assert str(caught.value).splitlines()[1:3] == ["    a cat:zz", "          ^"]


def test_weights_may_read_given_variables_only() -> None:
    scenes = parse_scenes("a:fLo*2", variables=("t", "fLo"))
    assert scenes[0].prompts[0].weight.evaluate({"t": 0.0, "fLo": 0.25}) == 0.5
    with pytest.raises(PromptError, match="unknown name 'fLo'"):
        parse_scenes("a:fLo*2")


def test_run_time_error_names_scene_and_prompt() -> None:
    prompt = parse_scenes("a | b:1/t")[0].prompts[1]
    with pytest.raises(PromptError, match=r"scenes: scene 1, prompt 2 \(weight\): cannot evaluate `1/t` with t=0.0"):
        prompt.weight.evaluate({"t": 0.0})


@pytest.mark.parametrize(("text", "label"), [
    ("a cat", "a cat"),
    ("a very long prompt that goes on and on", "a very long prompt t..nd on"),
    ("exactly twenty-seven chars!", "exactly twenty-seven chars!"),
    ("café au lait ☕", "caf au lait "),
    ("[cat.png]", "[cat.png] (semantic)"),
    ("[https://example.com/images/cat.png]", "[https://example.com..ntic)"),
])
def test_labels_follow_pytti(text: str, label: str) -> None:
    assert parse_scenes(text)[0].prompts[0].label == label


def test_display_label_limit() -> None:
    assert display_label("x" * 27) == "x" * 27
    assert display_label("x" * 20 + "y" * 8) == "x" * 20 + ".." + "y" * 5


@pytest.mark.parametrize(("text", "printed"), [
    ("a cat", "a cat"),
    ("  a cat:1 ", "a cat"),
    ("a cat:1.0", "a cat:1.0"),
    ("a cat:1_a:-inf", "a cat"),
    ("a:2_[-m.mp4]_0.3:0.1 | [x.png] || b:1:0.5", "a:2_[-m.mp4]_0.3:0.1 | [x.png] || b:1:0.5"),
    ("a || || b", "a ||   || b"),
    (" ", " "),
])
def test_format_scenes(text: str, printed: str) -> None:
    tree = parse_scenes(text)
    assert format_scenes(tree) == printed
    assert parse_scenes(format_scenes(tree)) == tree


def test_image_prompt_kind() -> None:
    prompt = parse_scenes("[https://x.com/a_b.png]:2")[0].prompts[0]
    assert prompt.kind is SourceKind.IMAGE and prompt.source == "https://x.com/a_b.png"
