"""VQGANImage.warp_state: the displayed picture is warped and re-encoded (animation-losses-outputs.md §2.2)."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from vqgan_tiny import tiny_network

from dreamloom.animation import Motion2D, Warp2D
from dreamloom.images.vqgan import VQGANImage
from dreamloom.settings.choices import InfillMode, SamplingMode

SHIFT = Warp2D(Motion2D(translate_x=6, translate_y=2), SamplingMode.NEAREST, InfillMode.WRAP)


def encoded(picture: Image.Image) -> VQGANImage:
    image = VQGANImage(tiny_network(), 40, 30)
    image.encode_image(picture)
    return image


def test_the_state_after_a_warp_encodes_the_warped_displayed_picture(picture: Image.Image) -> None:
    image = encoded(picture)
    with torch.no_grad():  # an optimiser step, so that the displayed average differs from the parameter
        image.tensor.add_(torch.randn(image.tensor.shape, generator=torch.Generator().manual_seed(0)))
    image.after_step()
    assert not torch.allclose(image.decode(), image.decode_training())
    warped = SHIFT(image.decode())
    image.warp_state(SHIFT)
    expected = image.latent_of_pixels(warped)
    torch.testing.assert_close(image.get_latent().detach(), expected)
    torch.testing.assert_close(image.decode(), image.decode_latent(expected.permute(0, 2, 3, 1)))


def test_the_warped_state_decodes_near_the_warped_picture(picture: Image.Image) -> None:
    image = encoded(picture)
    warped = SHIFT(image.decode())
    unmoved = image.decode_latent(image.latent_of_pixels(image.decode()).permute(0, 2, 3, 1))
    image.warp_state(SHIFT)
    error = (image.decode() - warped).abs().mean()
    assert error < (unmoved - warped).abs().mean()


def test_a_warp_resets_the_moving_average(picture: Image.Image) -> None:
    image = encoded(picture)
    image.after_step()
    image.warp_state(SHIFT)
    torch.testing.assert_close(image.average, image.tensor.detach())
    assert float(image.accum) == pytest.approx(image.decay)
