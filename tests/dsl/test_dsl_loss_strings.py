"""Weight settings of image losses and ``direct_image_prompts`` (pytti §1.7, §1.8; animation §6.2)."""

from __future__ import annotations

import pytest

from dreamloom.dsl.loss_strings import parse_direct_image_prompts, parse_weight_setting
from dreamloom.dsl.tree import Mask, MaskKind, SourceKind, WeightSpec
from dreamloom.errors import PromptError

VARIABLES = ("t", "fLo", "fLo_prev")


def spec(text: str | int | float, setting: str = "direct_stabilization_weight") -> WeightSpec | None:
    return parse_weight_setting(text, setting=setting, variables=VARIABLES)


def summary(weight_spec: WeightSpec | None) -> tuple[str, str, Mask | None] | None:
    if weight_spec is None:
        return None
    return weight_spec.weight.source, weight_spec.stop.source, weight_spec.mask


@pytest.mark.parametrize("disabled", ["", "   ", "0", 0, 0.0, False, "0.0", "0_mask.mp4", "0:0.5", "(0)"])
def test_disabled_values(disabled: str | int | float) -> None:
    assert spec(disabled) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("1", ("1", "-inf", None)),
    (2.5, ("2.5", "-inf", None)),
    (3, ("3", "-inf", None)),
    ("0.5*t:0.1", ("0.5*t", "0.1", None)),
    ("2_mask.mp4", ("2", "-inf", Mask(MaskKind.VIDEO, path="mask.mp4"))),
    ("2_-my_mask.mp4:0.1", ("2", "0.1", Mask(MaskKind.VIDEO, path="my_mask.mp4", inverted=True))),
    ("1_[m.png]", ("1", "-inf", Mask(MaskKind.IMAGE, path="m.png"))),
    ("1_[-C:\\m s\\x.png]", ("1", "-inf", Mask(MaskKind.IMAGE, path="C:\\m s\\x.png", inverted=True))),
    ("(fLo_prev)_C:\\m.png:0.5", ("(fLo_prev)", "0.5", Mask(MaskKind.IMAGE, path="C:\\m.png"))),
    ("1_D:/m.png", ("1", "-inf", Mask(MaskKind.IMAGE, path="D:/m.png"))),
    ("1_https://x.com/a_b.mp4:2", ("1", "2", Mask(MaskKind.VIDEO, path="https://x.com/a_b.mp4"))),
    ("1_r", ("1", "-inf", Mask(MaskKind.IMAGE, path="r"))),  # a bare mask is a file in this family
])
def test_direct_family(text: str | int | float, expected: tuple[str, str, Mask | None]) -> None:
    assert summary(spec(text)) == expected


@pytest.mark.parametrize("setting", ["semantic_init_weight", "semantic_stabilization_weight"])
@pytest.mark.parametrize(("text", "expected"), [
    ("1_[mask.mp4]", ("1", "-inf", Mask(MaskKind.VIDEO, path="mask.mp4"))),
    ("1_[-m.png]_0.3:-0.5", ("1", "-0.5", Mask(MaskKind.IMAGE, path="m.png", inverted=True))),
    ("2_a blue sky", ("2", "-inf", Mask(MaskKind.SEMANTIC, text="a blue sky"))),
    ("2_l", ("2", "-inf", Mask(MaskKind.POSITIONAL, letter="l"))),
    ("2_a", ("2", "-inf", None)),
])
def test_semantic_family_uses_scene_masks(setting: str, text: str, expected: tuple[str, str, Mask | None]) -> None:
    result = summary(spec(text, setting))
    assert result is not None and result[:2] == expected[:2]
    mask, want = result[2], expected[2]
    assert (mask is None) == (want is None)
    if mask is not None and want is not None:
        assert (mask.kind, mask.path, mask.text, mask.letter, mask.inverted) == (
            want.kind, want.path, want.text, want.letter, want.inverted)


def test_semantic_cutoff_is_kept() -> None:
    result = spec("1_sky_0.25", "semantic_stabilization_weight")
    assert result is not None and result.mask is not None and result.mask.cutoff is not None
    assert result.mask.cutoff.constant == 0.25


@pytest.mark.parametrize(("text", "setting", "reason"), [
    ("1_", "direct_init_weight", "empty mask after '_'"),
    ("_m.png", "direct_init_weight", "empty weight"),
    ("1:", "edge_stabilization_weight", "empty stop"),
    ("1:2:3", "depth_stabilization_weight", "too many ':' fields"),
    ("fHi", "flow_stabilization_weight", "unknown name 'fHi'"),
    ("1_[m.png", "direct_init_weight", "never closed"),
    ("1_[]", "semantic_init_weight", "empty mask file name"),
    ("__import__('os')", "direct_init_weight", "bad weight: '__import__' is not a function you can call"),
])
def test_weight_setting_errors_name_the_setting(text: str, setting: str, reason: str) -> None:
    with pytest.raises(PromptError, match=f"^{setting}: .*{reason}"):
        spec(text, setting)


def test_direct_image_prompts() -> None:
    prompts = parse_direct_image_prompts(
        "a.png | https://x.com/a_b.png:2_m.mp4:0.5 | C:\\img\\b.png:sin(t)_-D:/m.png || [x_y:z.png]:1 | ",
        variables=VARIABLES)
    assert [(p.kind, p.source, p.weight.source, p.stop.source) for p in prompts] == [
        (SourceKind.IMAGE, "a.png", "1", "-inf"),
        (SourceKind.IMAGE, "https://x.com/a_b.png", "2", "0.5"),
        (SourceKind.IMAGE, "C:\\img\\b.png", "sin(t)", "-inf"),
        (SourceKind.IMAGE, "x_y:z.png", "1", "-inf"),
    ]
    assert prompts[1].mask == Mask(MaskKind.VIDEO, path="m.mp4")
    assert prompts[2].mask == Mask(MaskKind.IMAGE, path="D:/m.png", inverted=True)
    assert prompts[0].mask is None
    assert parse_direct_image_prompts("  ", variables=VARIABLES) == ()


def test_http_colon_is_protected_anywhere() -> None:
    (prompt,) = parse_direct_image_prompts("http://a.com/x.png:3_http://a.com/m.png", variables=VARIABLES)
    assert (prompt.source, prompt.weight.source) == ("http://a.com/x.png", "3")
    assert prompt.mask == Mask(MaskKind.IMAGE, path="http://a.com/m.png")


@pytest.mark.parametrize(("text", "reason", "caret"), [
    (":2", "empty image path", 0),
    ("a.png:1_", "empty mask after '_'", 8),
    ("a.png:1:2:3", "too many ':' fields", 9),
    ("a.png:t+", "bad weight: syntax error", 8),
])
def test_direct_image_prompt_errors(text: str, reason: str, caret: int) -> None:
    with pytest.raises(PromptError) as caught:
        parse_direct_image_prompts(f"ok.png | {text}", variables=VARIABLES)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"direct_image_prompts: prompt 2: {reason}")
    assert lines[2] == "    " + " " * caret + "^"
