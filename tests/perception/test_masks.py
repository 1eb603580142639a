"""Masks against hand-computed stops and weights: letters (right order), semantic, image, video."""

from __future__ import annotations

import math

import numpy as np
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
    assert stops.tolist() == expected and stops.dtype == torch.float32
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


# --- values the first tests leave open: boundaries, dtypes, the error diffusion against a slow reference -------


def test_n_and_f_compare_the_smaller_side_strictly() -> None:
    """A cutout whose smaller side equals the cutoff is neither switched off by ``n`` nor by ``f``."""
    inputs = _inputs([[0.1, 0.1], [0.1, 0.1], [0.1, 0.1]], [[0.5, 0.9], [0.4, 0.9], [0.6, 0.7]])
    assert PositionalMask("n")(inputs, None)[0].tolist() == [0.0, 1.0, 0.0]
    assert PositionalMask("f")(inputs, None)[0].tolist() == [0.0, 0.0, 1.0]


def test_semantic_stops_are_floats_and_a_distance_equal_to_the_threshold_stays_on() -> None:
    inputs, phrase, distances = _semantic_case()
    cutoff = (float(distances[1]) - 0.7) / 0.3  # threshold 0.3·cutoff + 0.7 == distance 1 (in float32)
    stops, _ = SemanticMask([phrase])(inputs, cutoff)
    assert stops.dtype == torch.float32 and stops.tolist() == [0.0, 0.0, 1.0]


def _reference_weights(mask: list[list[float]], error: list[list[float]], offsets, sizes) -> list[float]:
    """pytti's ``mask_image`` written out pixel by pixel (prompts-and-perceptors.md §1.4, steps 2–5), with
    dreamloom's clipping of rectangles to [0, W] × [0, H]; ``error`` is updated in place."""
    height, width = len(mask), len(mask[0])
    rectangles = []
    for (ox, oy), (sx, sy) in zip(offsets, sizes):
        ends = (float(np.float32(ox) + np.float32(sx)), float(np.float32(oy) + np.float32(sy)))
        low = [min(max(math.floor(float(np.float32(o)) * n), 0), n) for o, n in ((ox, width), (oy, height))]
        high = [min(max(math.floor(e * n), 0), n) for e, n in zip(ends, (width, height))]
        rectangles.append((low[0], low[1], high[0], high[1]))
    areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rectangles]
    weights = [0.0] * len(rectangles)
    for k in sorted(range(len(rectangles)), key=lambda k: -areas[k]):  # decreasing area, ties in order
        x0, y0, x1, y1 = rectangles[k]
        if areas[k] == 0:
            continue
        pixels = [(y, x) for y in range(y0, y1) for x in range(x0, x1)]
        total = 0.0
        for y, x in pixels:
            e = error[y][x]
            total += mask[y][x] + math.copysign(math.sqrt(abs(e)), e) * (e != 0)
        weights[k] = total / len(pixels)
        for y, x in pixels:
            residual = mask[y][x] - weights[k]
            error[y][x] += residual**2 / len(rectangles) * ((residual > 0) - (residual < 0))
    mean = sum(map(sum, mask)) / (height * width)
    return [w / math.sqrt(mean) for w in weights]


def test_image_mask_error_diffusion_matches_a_pixel_by_pixel_reference_over_steps() -> None:
    """Overlapping cutouts of different areas (some overhanging, one empty) over three steps: the order of
    visits, the residual's /N and the square root of the buffer all show in the weights."""
    generator = torch.Generator().manual_seed(3)
    picture = torch.rand(6, 9, generator=generator, dtype=torch.float64)
    mask = ImageMask(picture)
    rows = picture.tolist()
    error = [[0.0] * 9 for _ in range(6)]
    for _ in range(3):
        offsets = (torch.rand(7, 2, generator=generator) * 1.1 - 0.2).tolist()
        sizes = (torch.rand(7, 2, generator=generator) * 0.7 + 0.1).tolist()
        offsets[6] = [1.05, 0.2]  # right of the image: an empty rectangle, weight 0
        stops, weights = mask(_inputs(offsets, sizes), None)
        expected = _reference_weights(rows, error, offsets, sizes)
        assert stops.tolist() == [-math.inf] * 7 and weights.dtype == torch.float32
        assert weights.tolist() == pytest.approx(expected, rel=1e-6, abs=1e-7)
        assert expected[6] == 0.0 and len({round(w, 6) for w in expected if w}) >= 5


def test_image_mask_clamps_the_picture_to_0_1_before_weighting() -> None:
    """Whole-image cutout: the weight is mean(clamped mask)/sqrt(mean) = 0.375/sqrt(0.375)."""
    mask = ImageMask(torch.tensor([[3.0, 0.0, -1.0, 0.5]]))
    _, weights = mask(_inputs([[0.0, 0.0]], [[1.0, 1.0]]), None)
    assert weights.tolist() == pytest.approx([math.sqrt(0.375)])
    assert mask.mask.dtype == mask.error.dtype == torch.float64  # the buffer sums many small residuals


def test_a_mean_of_exactly_one_thousandth_still_weights_the_prompt() -> None:
    """pytti disables a mask only when its mean is below 0.001 (strictly)."""
    picture = torch.zeros(25, 40)
    picture[0, 0] = 1.0  # mean 1/1000
    _, weights = ImageMask(picture)(_inputs([[0.0, 0.0]], [[0.05, 0.09]]), None)  # the top-left 2×2 pixels
    assert weights.tolist() == pytest.approx([0.25 / math.sqrt(0.001)])


@pytest.mark.parametrize(("shape", "held"), [((100, 200), (100, 200)), ((256, 30), (256, 30)), ((520, 260), (256, 128)),
                                             ((1, 600), (1, 256)), ((600, 1), (256, 1))])
def test_mask_pictures_are_held_at_most_256_on_the_longer_side(shape, held) -> None:
    picture = torch.rand(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    stored = ImageMask(picture).mask
    assert tuple(stored.shape) == held
    if shape == held:
        assert torch.equal(stored, picture)


def test_mask_pictures_twice_too_large_are_averaged_over_2x2_blocks() -> None:
    picture = torch.rand(512, 300, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    blocks = picture.reshape(256, 2, 150, 2).mean(dim=(1, 3))
    assert torch.allclose(ImageMask(picture).mask, blocks, atol=1e-12)


class _Frames:
    """A stand-in mask video: frame n is a flat grey of level (n + 1)/4, the last one repeated."""

    def frame(self, index: int) -> torch.Tensor:
        return torch.full((4, 4), min(index + 1, 3) / 4)


def test_video_mask_with_frames_shows_frame_0_then_the_frame_asked_for() -> None:
    whole = _inputs([[0.0, 0.0]] * 3, [[1.0, 1.0]] * 3)
    video = VideoMask("mask.mp4", frames=_Frames())  # type: ignore[arg-type]
    stops, weights = video(whole, None)  # flat level m: every weight m/sqrt(m) = sqrt(m)
    assert stops.tolist() == [-math.inf] * 3 and weights.tolist() == pytest.approx([math.sqrt(0.25)] * 3)
    video.show(1)
    assert video(whole, None)[1].tolist() == pytest.approx([math.sqrt(0.5)] * 3)
    video.show(7)
    assert video(whole, None)[1].tolist() == pytest.approx([math.sqrt(0.75)] * 3)


def test_video_mask_frames_become_grey_by_pils_luma_and_grey_frames_are_kept() -> None:
    whole = _inputs([[0.0, 0.0]], [[1.0, 1.0]])
    video = VideoMask("mask.mp4")
    video.set_frame(torch.tensor([1.0, 0.5, 0.25])[:, None, None].expand(3, 2, 2))
    assert video(whole, None)[1].tolist() == pytest.approx([math.sqrt(0.299 + 0.2935 + 0.0285)])
    video.set_frame(torch.full((2, 2), 0.36))
    assert video(whole, None)[1].tolist() == pytest.approx([0.6])


def test_video_mask_before_its_first_frame_is_off_nowhere_and_without_a_reader_names_the_file() -> None:
    stops, weights = VideoMask("mask.mp4")(_inputs(OFFSETS[:3], SIZES[:3]), None)
    assert stops.tolist() == [-math.inf] * 3 and weights.tolist() == [1.0] * 3
    with pytest.raises(ValueError, match="mask.mp4"):
        VideoMask("mask.mp4").show(0)
