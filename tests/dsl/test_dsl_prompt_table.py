"""A table of prompt strings and their parsed fields, covering every row of pytti's parse table
(prompts-and-perceptors §1.2) and every mask kind; rows pytti only fails on later are errors here."""

from __future__ import annotations

import pytest

from dreamloom.dsl.grammar import parse_scenes
from dreamloom.dsl.tree import Prompt
from dreamloom.errors import PromptError

VARIABLES = ("t", "b", "c", "d", "c_d", "fLo", "fLo_prev")

# (kind, source, weight, stop, mask) with mask = None or (kind, letter/text/path, inverted, cutoff)
Fields = tuple[str, str, str, str, tuple[str, str, bool, str | None] | None]


def fields(prompt: Prompt) -> Fields:
    mask = prompt.mask
    described = None
    if mask is not None:
        value = mask.letter or mask.text or mask.path or ""
        described = (mask.kind.value, value, mask.inverted, mask.cutoff.source if mask.cutoff else None)
    return prompt.kind.value, prompt.source, prompt.weight.source, prompt.stop.source, described


TABLE: list[tuple[str, Fields]] = [
    # pytti §1.2 parse table, row by row
    ("a cat", ("text", "a cat", "1", "-inf", None)),
    ("a cat:2:0.9", ("text", "a cat", "2", "0.9", None)),
    ("[https://x.com/a_b.png]:2", ("image", "https://x.com/a_b.png", "2", "-inf", None)),
    ("dragon:3_baby", ("text", "dragon", "3", "-inf", ("semantic", "baby", False, None))),
    ("dragon:3_[mask_1.png]", ("text", "dragon", "3", "-inf", ("image", "mask_1.png", False, None))),
    ("x:1_[-m.png]_0.3", ("text", "x", "1", "-inf", ("image", "m.png", True, "0.3"))),
    ("a:1_b_c_d", ("text", "a", "1", "-inf", ("semantic", "b", False, "c_d"))),
    ("x:sin(t)_a:0", ("text", "x", "sin(t)", "0", None)),
    # positional letters, and `a` meaning no mask
    ("x:1_a", ("text", "x", "1", "-inf", None)),
    ("x:1_a_0.7", ("text", "x", "1", "-inf", None)),
    ("x:1_r", ("text", "x", "1", "-inf", ("positional", "r", False, None))),
    ("x:1_l", ("text", "x", "1", "-inf", ("positional", "l", False, None))),
    ("x:1_d", ("text", "x", "1", "-inf", ("positional", "d", False, None))),
    ("x:1_u_0.3", ("text", "x", "1", "-inf", ("positional", "u", False, "0.3"))),
    ("x:1_n_t/10", ("text", "x", "1", "-inf", ("positional", "n", False, "t/10"))),
    ("x:1_f:0.5", ("text", "x", "1", "0.5", ("positional", "f", False, None))),
    ("x:2_ r ", ("text", "x", "2", "-inf", ("positional", "r", False, None))),
    # semantic phrases (anything not exactly a letter)
    ("x:1_R", ("text", "x", "1", "-inf", ("semantic", "R", False, None))),
    ("x:1_all", ("text", "x", "1", "-inf", ("semantic", "all", False, None))),
    ("x:1_a blue sky_0.5", ("text", "x", "1", "-inf", ("semantic", "a blue sky", False, "0.5"))),
    ("x:1_sky (left)_0.2", ("text", "x", "1", "-inf", ("semantic", "sky (left)", False, "0.2"))),
    ("x:1_mask.png", ("text", "x", "1", "-inf", ("semantic", "mask.png", False, None))),
    # image and video masks, inverted or not
    ("x:1_[m.png]", ("text", "x", "1", "-inf", ("image", "m.png", False, None))),
    ("x:1_[ -m.png ]", ("text", "x", "1", "-inf", ("image", "m.png", True, None))),
    ("x:1_[https://a.b/m_1.png]", ("text", "x", "1", "-inf", ("image", "https://a.b/m_1.png", False, None))),
    ("x:1_[v.mp4]", ("text", "x", "1", "-inf", ("video", "v.mp4", False, None))),
    ("x:1_[-v.mp4]:-0.5", ("text", "x", "1", "-0.5", ("video", "v.mp4", True, None))),
    ("x:1_[clip.MP4]", ("text", "x", "1", "-inf", ("video", "clip.MP4", False, None))),
    ("x:1_[clip.mov]_0.2", ("text", "x", "1", "-inf", ("video", "clip.mov", False, "0.2"))),
    # weights, stops and whitespace
    ("fog:-1:-0.9", ("text", "fog", "-1", "-0.9", None)),
    ("  a  cat  :  2  :  0.5 ", ("text", "a  cat", "2", "0.5", None)),
    ("x:10*fLo + sin(t)", ("text", "x", "10*fLo + sin(t)", "-inf", None)),
    ("x:(fLo_prev)_r", ("text", "x", "(fLo_prev)", "-inf", ("positional", "r", False, None))),
    ("x:[fLo_prev]_r", ("text", "x", "[fLo_prev]", "-inf", ("positional", "r", False, None))),
    ("x:max((fLo_prev), (fLo))", ("text", "x", "max((fLo_prev), (fLo))", "-inf", None)),
    ("x:1:fLo_prev", ("text", "x", "1", "fLo_prev", None)),
    ("x:1 if t < 5 else -1", ("text", "x", "1 if t < 5 else -1", "-inf", None)),
    # prompt text and image prompts
    ("snake_case text", ("text", "snake_case text", "1", "-inf", None)),
    ("a [b] c:2", ("text", "a [b] c", "2", "-inf", None)),
    ("[a] and [b]", ("text", "[a] and [b]", "1", "-inf", None)),
    ("time [12:30]:2", ("text", "time [12:30]", "2", "-inf", None)),
    ("[ cat.png ]", ("image", "cat.png", "1", "-inf", None)),
    ("[C:\\img\\cat.png]:3_l", ("image", "C:\\img\\cat.png", "3", "-inf", ("positional", "l", False, None))),
    ("[https://x.com/a.png?q=1:2]:2", ("image", "https://x.com/a.png?q=1:2", "2", "-inf", None)),
    ("un chat élégant:1.5", ("text", "un chat élégant", "1.5", "-inf", None)),
]

ERRORS: list[tuple[str, str, int]] = [
    # pytti parse-table rows that fail later in pytti (or read a typo as text) fail here, pointing
    ("a:b:c:d", "too many ':' fields", 5),
    ("a:b]:1", "']' without a matching '['", 3),
    ("x:", "empty weight", 2),
    # further mistakes
    (":2", "empty prompt text", 0),
    ("  :2", "empty prompt text", 0),
    ("x:1_", "empty mask after '_'", 4),
    ("x:1_  :0.5", "empty mask after '_'", 4),
    ("x:1_r_", "empty cutoff", 6),
    ("x:1:", "empty stop", 4),
    ("x: :1", "empty weight", 2),
    ("[]:1", "empty image path", 1),
    ("x:1_[]", "empty mask file name", 5),
    ("x:1_[-]", "empty mask file name", 6),
    ("x:1_[m.png", "'[' is never closed", 4),
    ("[cat.png:2", "'[' is never closed", 0),
    ("x:fLo_prev", "'fLo_prev' is split at '_'", 5),
    ("x:1 +* 2", "bad weight: syntax error", 5),
    ("x:fHi", "bad weight: unknown name 'fHi'", 2),
    ("x:1_r_zz", "bad cutoff: unknown name 'zz'", 6),
    ("x:1:sin(", "bad stop: syntax error", 7),
    ("x:(__import__('os'))", "bad weight: '__import__' is not a function", 3),
    ("x:1:[1, 2]", "bad stop: a single number is needed", 4),
]


def test_table_is_large_enough() -> None:
    assert len(TABLE) + len(ERRORS) >= 40 and len(TABLE) >= 40


@pytest.mark.parametrize(("prompt", "expected"), TABLE)
def test_prompt_fields(prompt: str, expected: Fields) -> None:
    (scene,) = parse_scenes(prompt, variables=VARIABLES)
    (parsed,) = scene.prompts
    assert fields(parsed) == expected
    assert parsed.original == prompt.strip()


@pytest.mark.parametrize(("prompt", "reason", "caret"), ERRORS)
def test_prompt_errors_point_at_the_character(prompt: str, reason: str, caret: int) -> None:
    with pytest.raises(PromptError) as caught:
        parse_scenes(f"fine | {prompt}", variables=VARIABLES)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"scenes: scene 1, prompt 2: {reason}")
    assert lines[1] == "    " + prompt.strip()
    assert lines[2] == "    " + " " * caret + "^"


@pytest.mark.parametrize(("scenes", "expected"), [
    ("a | :2", "scenes: scene 1, prompt 2: empty prompt text\n    :2\n    ^\n"
               "  write what the image should show before the ':'"),
    ("[ ]:2", "scenes: scene 1, prompt 1: empty image path in '[]'\n    [ ]:2\n     ^\n"
              "  write the image path or URL, e.g. [cat.png]"),
])
def test_empty_text_and_image_path_messages_in_full(scenes: str, expected: str) -> None:
    with pytest.raises(PromptError) as caught:
        parse_scenes(scenes)
    assert str(caught.value) == expected
