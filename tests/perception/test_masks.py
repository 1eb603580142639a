"""Masks against hand-computed stops and weights: letters (right order), semantic, image, video."""

from __future__ import annotations

import math

import pytest
import torch

from dreamloom.perception.masks import ImageMask, MaskInput, PositionalMask, SemanticMask, VideoMask
from dreamloom.perception.prompt_loss import spherical_distance

CPU = torch.device("cpu")
# cutouts on the left, right, top and bottom of the image, then a tall one left of centre and a small one
OFFSETS = [[0.0, 0.25], [0.6, 0.25], [0.25, 0.0], [0.25, 0.6], [0.0, 0.0], [0.7, 0.7]]
SIZES = [[0.4, 0.5], [0.4, 0.5], [0.5, 0.4], [0.5, 0.4], [0.9, 0.9], [0.2, 0.2]]


def _inputs(offsets=OFFSETS, sizes=SIZES, embeddings=()) -> MaskInput:
    return MaskInput(torch.tensor(offsets), torch.tensor(sizes), list(embeddings), CPU)


@pytest.mark.parametrize(
    ("letter", "expected"),
    [
        # stop = 1 where the prompt is off; centres x: .2 .8 .5 .5 .45 .8, y: .5 .5 .2 .8 .45 .8
        ("r", [1, 0, 0, 0, 1, 0]),
        ("l", [0, 1, 0, 0, 0, 1]),
        ("d", [0, 0, 1, 0, 1, 0]),
        ("u", [0, 0, 0, 1, 0, 1]),
        ("n", [1, 1, 1, 1, 0, 1]),
        ("f", [0, 0, 0, 0, 1, 0]),
    ],
)
def test_positional_letters_use_offset_then_size(letter: str, expected: list[int]) -> None:
    stops, weights = PositionalMask(letter)(_inputs(), None)
    assert stops.tolist() == expected
    assert weights.tolist() == [1.0] * 6


def test_positional_cutoff_moves_the_dividing_line_and_a_is_everywhere() -> None:
    stops, _ = PositionalMask("r")(_inputs(), 0.7)
    assert stops.tolist() == [1, 0, 1, 1, 1, 0]
    stops, _ = PositionalMask("a")(_inputs(), None)
    assert bool(torch.isinf(stops).all()) and float(stops[0]) < 0


def _semantic_case() -> tuple[MaskInput, torch.Tensor, torch.Tensor]:
    phrase = torch.tensor([0.0, 0.0, 1.0])
    embeds = torch.tensor([[0.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    inputs = _inputs(OFFSETS[:3], SIZES[:3], [embeds])
    return inputs, phrase, spherical_distance(embeds, phrase)


def test_semantic_mask_without_cutoff_is_continuous() -> None:
    inputs, phrase, distances = _semantic_case()
    stops, weights = SemanticMask([phrase])(inputs, None)
    assert torch.allclose(stops, torch.tensor([0.0, (math.pi / 4) ** 2 / 2, (math.pi / 2) ** 2 / 2]))
    assert torch.allclose(stops, distances) and weights.tolist() == [1.0] * 3


@pytest.mark.parametrize(("cutoff", "expected"), [(0.0, [0.0, 0.0, 1.0]), (1.0, [0.0, 0.0, 1.0]), (-2.0, [0, 1, 1])])
def test_semantic_mask_with_cutoff_thresholds_at_point3_cutoff_plus_point7(cutoff, expected) -> None:
    inputs, phrase, _ = _semantic_case()  # distances 0, 0.308, 1.234; thresholds 0.7, 1.0, 0.1
    stops, _ = SemanticMask([phrase])(inputs, cutoff)
    assert stops.tolist() == expected


def _half_mask() -> torch.Tensor:
    mask = torch.zeros(4, 8)
    mask[:, :4] = 1.0  # the left half is white
    return mask


def test_image_mask_weights_left_and_right_halves() -> None:
    halves = _inputs([[0.0, 0.0], [0.5, 0.0]], [[0.5, 1.0], [0.5, 1.0]])
    stops, weights = ImageMask(_half_mask())(halves, None)
    assert bool(torch.isinf(stops).all())
    assert weights.tolist() == pytest.approx([1 / math.sqrt(0.5), 0.0])
    _, weights = ImageMask(_half_mask(), inverted=True)(halves, None)
    assert weights.tolist() == pytest.approx([0.0, 1 / math.sqrt(0.5)])


def test_image_mask_error_diffusion_carries_over_steps() -> None:
    mask = ImageMask(torch.tensor([[1.0, 0.0]]))
    whole = _inputs([[0.0, 0.0]], [[1.0, 1.0]])
    _, first = mask(whole, None)  # w = 0.5; residuals ±0.5 leave error (0.25, -0.25)
    assert first.tolist() == pytest.approx([0.5 / math.sqrt(0.5)])
    _, second = mask(_inputs([[0.0, 0.0]], [[0.5, 1.0]]), None)  # 1 + sqrt(0.25)
    assert second.tolist() == pytest.approx([1.5 / math.sqrt(0.5)])


def test_image_mask_never_nan_for_overhanging_cutouts() -> None:
    offsets = [[-0.1, -0.1], [-0.6, -0.6], [1.2, 0.0], [-0.25, 0.0]]
    overhanging = _inputs(offsets, [[0.5, 0.5], [0.5, 0.5], [0.3, 1], [0.5, 1]])
    _, weights = ImageMask(_half_mask())(overhanging, None)
    assert bool(torch.isfinite(weights).all())
    assert weights.tolist() == pytest.approx([1 / math.sqrt(0.5), 0.0, 0.0, 1 / math.sqrt(0.5)])


def test_black_image_mask_disables_the_prompt() -> None:
    _, weights = ImageMask(torch.zeros(4, 4))(_inputs(), None)
    assert weights.tolist() == [0.0] * 6


def test_video_mask_acts_everywhere_until_a_frame_arrives() -> None:
    video = VideoMask("mask.mp4", inverted=True)
    halves = _inputs([[0.0, 0.0], [0.5, 0.0]], [[0.5, 1.0], [0.5, 1.0]])
    _, weights = video(halves, None)
    assert weights.tolist() == [1.0, 1.0]
    video.set_frame(_half_mask()[None].expand(3, -1, -1))
    _, weights = video(halves, None)
    assert weights.tolist() == pytest.approx([0.0, 1 / math.sqrt(0.5)])
