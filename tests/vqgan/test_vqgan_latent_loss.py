"""pytti's LatentLoss as a function: latent MSE / 2 + pixel MSE / 10, with masks (animation §6.6)."""

from __future__ import annotations

import pytest
import torch
from gradient_check import assert_gradient_matches_slopes
from PIL import Image
from vqgan_tiny import tiny_network

from dreamloom.images.vqgan import VQGANImage
from dreamloom.losses.direct import masked_mse
from dreamloom.losses.latent import latent_loss


def test_known_value_without_mask() -> None:
    latent, target_latent = torch.ones(1, 4, 2, 3), torch.zeros(1, 4, 2, 3)
    image, target_image = torch.full((1, 3, 4, 6), 0.5), torch.zeros(1, 3, 4, 6)
    assert latent_loss(latent, target_latent, image, target_image).item() == pytest.approx(1 / 2 + 0.25 / 10)


def test_mask_zeros_count_in_the_mean_and_follow_each_size() -> None:
    mask = torch.zeros(1, 1, 4, 6)
    mask[..., :3] = 1
    x, target = torch.ones(1, 3, 4, 6), torch.zeros(1, 3, 4, 6)
    assert masked_mse(x, target, mask).item() == pytest.approx(0.5)
    assert masked_mse(torch.ones(1, 4, 2, 3), torch.zeros(1, 4, 2, 3), mask).shape == ()
    assert masked_mse(torch.ones(1, 4, 4, 6), torch.zeros(1, 4, 4, 6), mask).item() == pytest.approx(0.5)


def test_loss_is_zero_on_its_own_target_and_pulls_the_latent(picture: Image.Image) -> None:
    image = VQGANImage(tiny_network(), 40, 30)
    image.encode_image(picture)
    target_latent = image.latent_of_image(picture)
    target_pixels = image.decode_training().detach()
    own = latent_loss(image.get_latent(), target_latent, image.decode_training(), target_pixels)
    assert own.item() == pytest.approx(0.0, abs=1e-12)
    image.double()
    target_latent, target_pixels = target_latent.double(), target_pixels.double()
    image.encode_random(torch.Generator().manual_seed(0))
    loss = latent_loss(image.get_latent(), target_latent, image.decode_training(), target_pixels)
    loss.backward()
    codes = image.get_latent().detach()
    raw = (image.network.decode(codes) + 1) / 2
    shown = raw.clamp(0, 1)
    expected = ((codes - target_latent) ** 2).mean() / 2 + ((shown - target_pixels) ** 2).mean() / 10
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12) and loss.item() > 0.01
    assert bool(((raw < 0) | (raw > 1)).any())  # some pixels are clamped

    # The targets are in [0, 1], so the clamp never stops the pixel gradient 2·(shown − target)/N: the
    # gradient is that of the latent MSE plus the pixel term linearised at the clamped pixels.
    pixel_pull = 2 * (shown - target_pixels) / shown.numel() / 10

    def linearised(latent: torch.Tensor) -> torch.Tensor:
        pixels = (image.network.decode(latent) + 1) / 2
        return ((latent - target_latent) ** 2).mean() / 2 + (pixel_pull * pixels).sum()

    left = (torch.arange(codes.shape[-1]) < codes.shape[-1] // 2).to(torch.float64)
    assert_gradient_matches_slopes(linearised, codes, image.tensor.grad.permute(0, 3, 1, 2), step=1e-4,
                                   rel=1e-6, region=left)
