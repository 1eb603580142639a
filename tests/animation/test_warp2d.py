"""The 2D warp: units and signs of each motion (animation-losses-outputs.md §2.3), infill and sampling (§2.1)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from dreamloom.animation import Motion2D, Warp2D, sample_at, source_from_target, warp_affine
from dreamloom.animation.warp2d import pixel_grid
from dreamloom.settings.choices import InfillMode, SamplingMode

NEAREST, BILINEAR, BICUBIC = SamplingMode.NEAREST, SamplingMode.BILINEAR, SamplingMode.BICUBIC
PADDING = {InfillMode.BLACK: "zeros", InfillMode.SMEAR: "border", InfillMode.MIRROR: "reflection"}


def picture(height: int = 9, width: int = 12, dtype: torch.dtype = torch.float64, seed: int = 0) -> torch.Tensor:
    """Distinct random values, so that any misplaced pixel shows. Shape: [2, 3, H, W]"""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, height, width, generator=generator, dtype=dtype)


def ramp(height: int, width: int, slope_x: float, slope_y: float) -> torch.Tensor:
    """``slope_x·x + slope_y·y`` at every pixel centre. Shape: [1, 1, H, W]"""
    grid = pixel_grid(height, width, dtype=torch.float64, device=torch.device("cpu"))
    return (slope_x * grid[..., 0] + slope_y * grid[..., 1])[None, None]


def warp(image: torch.Tensor, sampling: SamplingMode = NEAREST, infill: InfillMode = InfillMode.BLACK,
         **motion: float) -> torch.Tensor:
    return Warp2D(Motion2D(**motion), sampling, infill)(image)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("sampling", "infill"), list(itertools.product(SamplingMode, InfillMode)))
def test_zero_motion_is_exactly_the_identity(sampling: SamplingMode, infill: InfillMode, dtype: torch.dtype) -> None:
    image = picture(dtype=dtype)
    assert torch.equal(warp(image, sampling, infill), image)


def test_translate_x_moves_content_right_by_whole_pixels_each_frame() -> None:
    image = picture()
    once = warp(image, translate_x=4)
    assert torch.equal(once[..., 4:], image[..., :-4])
    assert torch.equal(once[..., :4], torch.zeros_like(once[..., :4]))
    twice = warp(once, translate_x=4)
    assert torch.equal(twice[..., 8:], image[..., :-8])


def test_translate_y_moves_content_up() -> None:
    image = picture()
    moved = warp(image, translate_y=3)
    assert torch.equal(moved[..., :-3, :], image[..., 3:, :])
    assert torch.equal(moved[..., -3:, :], torch.zeros_like(moved[..., -3:, :]))


def test_a_half_pixel_move_averages_neighbours_with_bilinear_sampling() -> None:
    image = picture()
    moved = warp(image, BILINEAR, translate_x=0.5)
    torch.testing.assert_close(moved[..., 1:], (image[..., 1:] + image[..., :-1]) / 2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [8, 9])
def test_rotate_2d_turns_content_counter_clockwise_on_screen(size: int) -> None:
    image = picture(size, size)
    assert torch.equal(warp(image, rotate_2d=90), torch.rot90(image, 1, dims=(-2, -1)))
    assert torch.equal(warp(image, rotate_2d=-90), torch.rot90(image, -1, dims=(-2, -1)))


@pytest.mark.parametrize("infill", list(InfillMode))
def test_four_quarter_turns_return_the_picture(infill: InfillMode) -> None:
    image = picture(10, 10, dtype=torch.float32)
    turned = image
    for _ in range(4):
        turned = warp(turned, NEAREST, infill, rotate_2d=90)
    assert torch.equal(turned, image)


def test_rotation_is_rigid_on_a_non_square_picture() -> None:
    image = torch.zeros(1, 1, 9, 15, dtype=torch.float64)
    image[0, 0, 4, 11] = 1.0  # 4 px right of the centre (7, 4)
    turned = warp(image, rotate_2d=90)
    assert turned[0, 0, 0, 7] == 1.0  # now 4 px above it
    assert turned.sum() == 1.0


def test_zoom_stretches_about_the_centre_by_pytti_factor() -> None:
    height, width, zoom = 7, 20, 5.0
    image = ramp(height, width, 1.0, 0.0)
    zoomed = warp(image, BILINEAR, InfillMode.SMEAR, zoom_x_2d=zoom)
    centre, factor = (width - 1) / 2, (width - zoom) / width
    expected = centre + (image - centre) * factor
    torch.testing.assert_close(zoomed, expected, rtol=0, atol=1e-12)


def test_zoom_y_stretches_rows() -> None:
    zoomed = warp(ramp(12, 5, 0.0, 1.0), BILINEAR, InfillMode.SMEAR, zoom_y_2d=-4.0)
    expected = 5.5 + (ramp(12, 5, 0.0, 1.0) - 5.5) * (12 + 4) / 12
    interior = slice(3, 9)  # zooming out reads past the edges elsewhere
    torch.testing.assert_close(zoomed[..., interior, :], expected[..., interior, :], rtol=0, atol=1e-12)


def squared_zoom(zoom: float, size: int) -> float:
    """The zoom whose factor ``(size − zoom)/size`` is the square of ``zoom``'s."""
    return size * (1 - ((size - zoom) / size) ** 2)


def test_two_frames_of_zoom_equal_one_frame_of_the_squared_factor() -> None:
    height, width, zoom = 11, 16, 3.0
    step = torch.eye(3, dtype=torch.float64)
    step[:2] = source_from_target(Motion2D(zoom_x_2d=zoom, zoom_y_2d=zoom), height, width, dtype=torch.float64)
    squared = Motion2D(zoom_x_2d=squared_zoom(zoom, width), zoom_y_2d=squared_zoom(zoom, height))
    once = source_from_target(squared, height, width, dtype=torch.float64)
    torch.testing.assert_close((step @ step)[:2], once, rtol=0, atol=1e-12)
    image = ramp(height, width, 1.0, 2.0)
    twice = warp(warp(image, BILINEAR, zoom_x_2d=zoom), BILINEAR, zoom_x_2d=zoom)
    expected = warp(image, BILINEAR, zoom_x_2d=squared_zoom(zoom, width))
    torch.testing.assert_close(twice, expected, rtol=0, atol=1e-12)


def test_translation_is_not_rotated_and_moves_the_centre_exactly() -> None:
    matrix = source_from_target(Motion2D(2.5, -1.5, 37.0, 3.0, 1.0), 10, 14, dtype=torch.float64)
    centre = torch.tensor([6.5, 4.5, 1.0], dtype=torch.float64)
    torch.testing.assert_close(matrix @ centre, torch.tensor([6.5 - 2.5, 4.5 - 1.5], dtype=torch.float64))


def test_infill_black_leaves_zeros() -> None:
    image = picture()
    assert torch.equal(warp(image, NEAREST, InfillMode.BLACK, translate_x=3)[..., :3],
                       torch.zeros_like(image[..., :3]))


def test_infill_wrap_brings_in_the_opposite_edge() -> None:
    image = picture()
    assert torch.equal(warp(image, NEAREST, InfillMode.WRAP, translate_x=3, translate_y=-2),
                       torch.roll(image, (2, 3), dims=(-2, -1)))


def test_wrap_has_no_seam_between_the_last_and_first_pixel() -> None:
    image = picture()
    moved = warp(image, BILINEAR, InfillMode.WRAP, translate_x=0.5)
    torch.testing.assert_close(moved, (image + torch.roll(image, 1, dims=-1)) / 2, rtol=0, atol=1e-12)


def test_infill_mirror_reflects_about_the_edge_pixel() -> None:
    image = picture()
    moved = warp(image, NEAREST, InfillMode.MIRROR, translate_x=3)
    assert torch.equal(moved[..., :3], image[..., [3, 2, 1]])
    assert torch.equal(moved[..., 3:], image[..., :-3])


def test_mirror_infill_on_a_one_pixel_high_picture_reads_its_only_row() -> None:
    """A single row has no second pixel to reflect about: every row index, on or off the picture, is row 0."""
    image = torch.tensor([[[[0.0, 1.0, 4.0, 9.0]]]], dtype=torch.float64)
    points = torch.tensor([[[[1.5, -1.3], [0.25, 2.7], [3.0, 0.0], [-1.0, 5.0]]]], dtype=torch.float64)
    read = sample_at(image, points, BILINEAR, InfillMode.MIRROR)
    # x: halfway between 1 and 4; a quarter of the way from 0 to 1; the last pixel; mirrored to x = 1
    assert read.flatten().tolist() == pytest.approx([2.5, 0.25, 9.0, 1.0])


def test_infill_smear_repeats_the_edge_pixel() -> None:
    image = picture()
    moved = warp(image, NEAREST, InfillMode.SMEAR, translate_x=-3)
    assert torch.equal(moved[..., -3:], image[..., -1:].expand(-1, -1, -1, 3))


@pytest.mark.parametrize("sampling", [NEAREST, BILINEAR])
@pytest.mark.parametrize("infill", list(PADDING))
def test_matches_grid_sample_with_pytti_padding(sampling: SamplingMode, infill: InfillMode) -> None:
    image = picture(7, 9)
    matrix = source_from_target(Motion2D(1.3, -2.7, 23.0, 0.8, -1.1), 7, 9, dtype=torch.float64)
    points = torch.einsum("ij,hwj->hwi", matrix, pixel_grid(7, 9, dtype=torch.float64, device=image.device))
    normalised = points / torch.tensor([8.0, 6.0], dtype=torch.float64) * 2 - 1
    expected = F.grid_sample(image, normalised.expand(2, 7, 9, 2), mode=sampling.value,
                             padding_mode=PADDING[infill], align_corners=True)
    torch.testing.assert_close(warp_affine(image, matrix, sampling, infill), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("motion", [Motion2D(0.3, 0.7, 0.0), Motion2D(-1.25, 0.4, 17.0, 1.5, -0.5)])
def test_bicubic_reproduces_linear_ramps(motion: Motion2D) -> None:
    image = ramp(16, 16, 2.0, -3.0)
    matrix = source_from_target(motion, 16, 16, dtype=torch.float64)
    moved = warp_affine(image, matrix, BICUBIC, InfillMode.BLACK)
    points = torch.einsum("ij,hwj->hwi", matrix, pixel_grid(16, 16, dtype=torch.float64, device=image.device))
    expected = 2.0 * points[..., 0] - 3.0 * points[..., 1]
    interior = (slice(4, 12), slice(4, 12))
    torch.testing.assert_close(moved[0, 0][interior], expected[interior], rtol=0, atol=1e-12)


def test_batched_matrices_warp_each_picture_separately() -> None:
    image = picture()
    first = source_from_target(Motion2D(1.5, 0.0, 10.0), 9, 12, dtype=torch.float64)
    second = source_from_target(Motion2D(-0.5, 2.0, 0.0, 2.0), 9, 12, dtype=torch.float64)
    both = warp_affine(image, torch.stack([first, second]), BICUBIC, InfillMode.MIRROR)
    expected = [warp_affine(image[:1], first, BICUBIC, InfillMode.MIRROR),
                warp_affine(image[1:], second, BICUBIC, InfillMode.MIRROR)]
    torch.testing.assert_close(both, torch.cat(expected), rtol=0, atol=1e-12)


def test_float32_and_float64_agree() -> None:
    image = picture()
    single = warp(image.float(), BICUBIC, InfillMode.WRAP, translate_x=1.3, rotate_2d=12.0, zoom_x_2d=1.0)
    double = warp(image, BICUBIC, InfillMode.WRAP, translate_x=1.3, rotate_2d=12.0, zoom_x_2d=1.0)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), double, rtol=0, atol=1e-5)


@pytest.mark.parametrize("sampling", [BILINEAR, BICUBIC])
@pytest.mark.parametrize("infill", list(InfillMode))
def test_gradients_in_the_picture_and_the_matrix(sampling: SamplingMode, infill: InfillMode) -> None:
    image = picture(4, 5, seed=1)[:1, :2].requires_grad_()
    matrix = source_from_target(Motion2D(0.37, -0.61, 13.0, 0.3, -0.2), 4, 5, dtype=torch.float64)
    matrix.requires_grad_()
    assert torch.autograd.gradcheck(lambda i, m: warp_affine(i, m, sampling, infill), (image, matrix))


def test_sample_at_reads_pixel_centres() -> None:
    image = picture(3, 4)
    points = torch.tensor([[[[3.0, 0.0], [0.0, 2.0]]]], dtype=torch.float64).expand(2, 1, 2, 2)
    read = sample_at(image, points, BICUBIC, InfillMode.BLACK)
    assert torch.equal(read[..., 0, 0], image[..., 0, 3])
    assert torch.equal(read[..., 0, 1], image[..., 2, 0])


def test_rotation_angle_is_in_degrees() -> None:
    matrix = source_from_target(Motion2D(rotate_2d=30.0), 5, 5, dtype=torch.float64)
    cos, sin = math.cos(math.pi / 6), math.sin(math.pi / 6)
    torch.testing.assert_close(matrix[:, :2], torch.tensor([[cos, -sin], [sin, cos]], dtype=torch.float64))
