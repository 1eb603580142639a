"""pytti's LatentLoss as a function: latent MSE / 2 + pixel MSE / 10, with masks (animation §6.6)."""

from __future__ import annotations

import pytest
import torch
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
    image.encode_random(torch.Generator().manual_seed(0))
    loss = latent_loss(image.get_latent(), target_latent, image.decode_training(), target_pixels)
    loss.backward()
    assert loss.item() > 0 and image.tensor.grad.abs().sum() > 0
