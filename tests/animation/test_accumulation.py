"""Sub-pixel motion adds up over frames without drift: whole pixels carried for nearest, exact centroids otherwise."""

from __future__ import annotations

import pytest
import torch

from dreamloom.animation import Motion2D, SubpixelCarry, Warp2D, carry_translation
from dreamloom.settings.choices import InfillMode, SamplingMode


def picture() -> torch.Tensor:
    """Shape: [1, 3, 8, 16]"""
    return torch.rand(1, 3, 8, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def run_nearest(image: torch.Tensor, motion: Motion2D, frames: int) -> tuple[list[torch.Tensor], SubpixelCarry]:
    """Every frame's picture when ``motion`` repeats with nearest sampling and the carry."""
    carry, pictures = SubpixelCarry(), []
    for _ in range(frames):
        applied, carry = carry_translation(motion, carry, SamplingMode.NEAREST)
        image = Warp2D(applied, SamplingMode.NEAREST, InfillMode.WRAP)(image)
        pictures.append(image)
    return pictures, carry


def centroid(image: torch.Tensor) -> torch.Tensor:
    """Mass-weighted mean (x, y) position of channel 0. Shape: [1, C, H, W] -> [2]"""
    mass = image[0, 0]
    ys, xs = torch.meshgrid(*(torch.arange(n, dtype=mass.dtype) for n in mass.shape), indexing="ij")
    return torch.stack([(mass * xs).sum(), (mass * ys).sum()]) / mass.sum()


def blob() -> torch.Tensor:
    """A smooth bump whose tails stay below 1e-15 at the edges of a 48×48 picture, even blurred.

    Shape: [1, 1, 48, 48]
    """
    ys, xs = torch.meshgrid(*(torch.arange(48, dtype=torch.float64),) * 2, indexing="ij")
    return torch.exp(-((xs - 23.3) ** 2 + (ys - 24.6) ** 2) / 4)[None, None]


def test_quarter_pixel_nearest_moves_one_pixel_after_four_frames() -> None:
    image = picture()
    pictures, carry = run_nearest(image, Motion2D(translate_x=0.25), 4)
    assert torch.equal(pictures[-1], torch.roll(image, 1, dims=-1))
    assert carry == SubpixelCarry(0.0, 0.0)


@pytest.mark.parametrize(("speed", "frames"), [(0.27, 12), (-0.73, 9), (1.6, 5)])
def test_nearest_position_is_always_the_rounded_total(speed: float, frames: int) -> None:
    image = picture()
    motion = Motion2D(translate_x=speed, translate_y=-speed / 2)
    pictures, carry = run_nearest(image, motion, frames)
    for frame, moved in enumerate(pictures, start=1):
        right, up = round(motion.translate_x * frame), round(motion.translate_y * frame)
        assert torch.equal(moved, torch.roll(image, (-up, right), dims=(-2, -1))), frame
    assert abs(carry.x) <= 0.5 and abs(carry.y) <= 0.5


def test_the_carry_leaves_rotation_and_zoom_alone() -> None:
    motion = Motion2D(translate_x=0.4, translate_y=0.6, rotate_2d=5.0, zoom_x_2d=1.0, zoom_y_2d=2.0)
    applied, carry = carry_translation(motion, SubpixelCarry(0.2, 0.0), SamplingMode.NEAREST)
    assert applied == Motion2D(1.0, 1.0, 5.0, 1.0, 2.0)
    assert carry.x == pytest.approx(-0.4) and carry.y == pytest.approx(-0.4)


@pytest.mark.parametrize("sampling", [SamplingMode.BILINEAR, SamplingMode.BICUBIC])
def test_fractional_sampling_passes_the_motion_through(sampling: SamplingMode) -> None:
    motion = Motion2D(translate_x=0.25)
    assert carry_translation(motion, SubpixelCarry(), sampling) == (motion, SubpixelCarry())


@pytest.mark.parametrize("sampling", [SamplingMode.BILINEAR, SamplingMode.BICUBIC])
@pytest.mark.parametrize(("dx", "dy"), [(0.25, 0.0), (0.1, -0.35), (-0.6, 0.15)])
def test_repeated_resampling_blurs_but_the_centroid_follows_the_motion(
    sampling: SamplingMode, dx: float, dy: float
) -> None:
    image = blob()
    start = centroid(image)
    warp = Warp2D(Motion2D(translate_x=dx, translate_y=dy), sampling, InfillMode.BLACK)
    for frame in range(1, 9):
        image = warp(image)
        expected = start + torch.tensor([dx * frame, -dy * frame], dtype=torch.float64)
        torch.testing.assert_close(centroid(image), expected, rtol=0, atol=1e-9)
    assert image.max() < blob().max()  # blurred, as resampling must
