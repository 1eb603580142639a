"""Each image model moves its own state by a picture-space warp (animation-losses-outputs.md §0.3, §2.2)."""

from __future__ import annotations

import torch

from dreamloom.animation import Motion2D, Warp2D
from dreamloom.images.base import ImageModel
from dreamloom.images.palette import LimitedPaletteImage
from dreamloom.images.rgb import RGBImage
from dreamloom.settings.choices import InfillMode, SamplingMode

SHIFT_RIGHT = Warp2D(Motion2D(translate_x=1), SamplingMode.NEAREST, InfillMode.WRAP)
SWIRL = Warp2D(Motion2D(translate_x=0.6, translate_y=-0.3, rotate_2d=17.0, zoom_x_2d=0.5), SamplingMode.BICUBIC,
               InfillMode.MIRROR)


def rgb_model(pixel_size: int = 1) -> RGBImage:
    model = RGBImage(5, 4, pixel_size)
    model.encode_random(torch.Generator().manual_seed(0))
    return model


def palette_model() -> LimitedPaletteImage:
    model = LimitedPaletteImage(6, 5, 2, palette_size=4, palettes=3, random_initial_palette=True)
    model.encode_random(torch.Generator().manual_seed(1))
    return model


def test_unlimited_palette_moves_its_grid_and_the_picture_by_grid_pixels() -> None:
    model = rgb_model(pixel_size=3)
    grid, picture = model.tensor.detach().clone(), model.decode().detach()
    model.warp_state(SHIFT_RIGHT)
    assert torch.equal(model.tensor.detach(), torch.roll(grid, 1, dims=-1))
    assert torch.equal(model.decode().detach(), torch.roll(picture, 3, dims=-1))


def test_unlimited_palette_warp_is_not_clamped() -> None:
    model = rgb_model()
    with torch.no_grad():
        model.tensor.mul_(3).sub_(1)
    expected = SWIRL(model.tensor.detach())
    model.warp_state(SWIRL)
    assert torch.equal(model.tensor.detach(), expected)
    assert model.tensor.min() < 0 and model.tensor.max() > 1


def test_limited_palette_warps_brightness_and_scores_together_and_keeps_the_palette() -> None:
    model = palette_model()
    palette = model.pallet.detach().clone()
    stacked = torch.cat([model.value.detach()[None], model.tensor.detach()])[None]
    model.warp_state(SWIRL)
    expected = SWIRL(stacked)[0]
    assert torch.equal(model.value.detach(), expected[0])
    assert torch.equal(model.tensor.detach(), expected[1:])
    assert torch.equal(model.pallet.detach(), palette)


def test_limited_palette_frames_after_warps_use_only_palette_colours() -> None:
    model = palette_model()
    for _ in range(3):
        model.warp_state(SWIRL)
        colours = model.decode().detach()[0].reshape(3, -1).T
        palette = model.display_palette().detach().reshape(-1, 3)
        assert (torch.cdist(colours, palette).min(dim=1).values < 1e-6).all()
        model.after_step()
    assert len(torch.unique(colours, dim=0)) > 2


def test_limited_palette_shift_moves_its_picture() -> None:
    model = palette_model()
    picture = model.decode().detach()
    model.warp_state(SHIFT_RIGHT)
    assert torch.equal(model.decode().detach(), torch.roll(picture, 2, dims=-1))


def test_default_warp_re_encodes_the_warped_picture_as_8_bit() -> None:
    model = rgb_model()
    with torch.no_grad():  # a step edge, so that bicubic sampling overshoots [0, 1] on both sides
        model.tensor.copy_((torch.arange(5) >= 2).expand(1, 3, 4, 5))
    half_step = Warp2D(Motion2D(translate_x=0.5), SamplingMode.BICUBIC, InfillMode.SMEAR)
    warped = half_step(model.decode().detach())
    assert warped.min() < 0 and warped.max() > 1
    ImageModel.warp_state(model, half_step)
    truncated = warped.clamp(0, 1).mul(255).to(torch.uint8).to(torch.float32) / 255
    torch.testing.assert_close(model.tensor.detach(), truncated, rtol=0, atol=1e-7)
