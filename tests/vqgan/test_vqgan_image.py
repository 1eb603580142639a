"""VQGANImage: sizes, init, encoding, EMA (image-models.md §3, §6.6, T3, T7), gradients, backups."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from gradient_check import assert_gradient_matches_slopes
from PIL import Image
from vqgan_tiny import TINY, TINY_F16, are_codebook_rows, tiny_network

from dreamloom.errors import SettingsError
from dreamloom.images.vqgan import VQGANImage


def _image(width: int = 20, height: int = 12, **kwargs: object) -> VQGANImage:
    return VQGANImage(tiny_network(), width, height, **kwargs)


def test_sizes_follow_pytti_t7() -> None:
    image = VQGANImage(tiny_network(TINY_F16), 100, 70)
    assert image.output_size == (64, 96)
    assert image.tensor.shape == (1, 4, 6, TINY_F16.embed_dim)
    assert image.decode_training().shape == (1, 3, 64, 96)


def test_pixel_size_enlarges_the_render() -> None:
    image = VQGANImage(tiny_network(TINY_F16), 50, 35, pixel_size=2)
    assert image.output_size == (64, 96)


def test_an_image_smaller_than_one_token_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="pixel_size"):
        VQGANImage(tiny_network(TINY_F16), 100, 10)


def test_class_constants_and_learning_rates() -> None:
    assert VQGANImage.default_lr == 0.1
    assert VQGANImage.latent_strength == 1.0
    assert VQGANImage(tiny_network(dataclasses.replace(TINY, gumbel=True)), 8, 8).default_lr == 0.15


def test_encode_random_draws_codebook_rows_from_the_generator() -> None:
    image, twin = _image(), _image()
    image.encode_random(torch.Generator().manual_seed(7))
    twin.encode_random(torch.Generator().manual_seed(7))
    assert torch.equal(image.tensor, twin.tensor)
    assert are_codebook_rows(image.tensor.detach().reshape(-1, TINY.embed_dim), image.network.codebook)
    assert len(torch.unique(image.tensor.detach().reshape(-1, TINY.embed_dim), dim=0)) > 10
    torch.testing.assert_close(image.average, image.tensor.detach())


def test_encode_image_round_trips_shape_and_range(picture: Image.Image) -> None:
    image = _image(40, 30)
    image.encode_image(picture)
    decoded = image.decode()
    assert decoded.shape == (1, 3, 30, 40)
    assert decoded.min() >= 0 and decoded.max() <= 1
    assert are_codebook_rows(image.tensor.detach().reshape(-1, TINY.embed_dim), image.network.codebook)
    assert image.accum.item() == pytest.approx(0.99)
    assert image.to_pil().size == (40, 30)


def test_latent_of_image_leaves_the_state_alone(picture: Image.Image) -> None:
    image = _image(40, 30)
    image.encode_random(torch.Generator().manual_seed(0))
    before = image.state_dict()
    latent = image.latent_of_image(picture)
    assert latent.shape == (1, TINY.embed_dim, 15, 20)
    assert all(torch.equal(value, image.state_dict()[key]) for key, value in before.items())
    image.encode_image(picture)
    torch.testing.assert_close(image.get_latent().detach(), latent)


def test_ema_matches_pytti_t3() -> None:
    image = _image()
    with torch.no_grad():
        image.tensor.fill_(2.0)
    image.reset_average()
    assert image.accum.item() == pytest.approx(0.99)
    torch.testing.assert_close(image.biased, torch.full_like(image.biased, 0.02))
    torch.testing.assert_close(image.average, torch.full_like(image.average, 2.000002))
    with torch.no_grad():
        image.tensor.fill_(4.0)
    image.after_step()
    torch.testing.assert_close(image.average, torch.full_like(image.average, 3.005025), atol=1e-5, rtol=0)


def test_ema_is_the_bias_corrected_weighted_sum() -> None:
    image, decay = _image(), 0.99
    values = [torch.randn(image.tensor.shape, generator=torch.Generator().manual_seed(k)) for k in range(5)]
    with torch.no_grad():
        image.tensor.copy_(values[0])
    image.reset_average()
    for value in values[1:]:
        with torch.no_grad():
            image.tensor.copy_(value)
        image.after_step()
    k = len(values)
    weighted = sum((1 - decay) * decay ** (k - 1 - j) * value for j, value in enumerate(values))
    torch.testing.assert_close(image.average, weighted / (1 - decay**k))
    assert image.accum.item() == pytest.approx(decay**k)


def test_decode_shows_the_average_while_training_sees_the_raw_latent() -> None:
    image = _image()
    image.encode_random(torch.Generator().manual_seed(1))
    shown = image.decode().detach()
    image.encode_random(torch.Generator().manual_seed(2))
    with torch.no_grad():
        image.average.copy_(image.tensor)
        image.tensor.add_(torch.randn(image.tensor.shape, generator=torch.Generator().manual_seed(3)) * 5)
    torch.testing.assert_close(image.decode(), image.decode_latent(image.average))
    assert not torch.equal(image.decode_training(), image.decode())
    assert not torch.equal(shown, image.decode())


def test_straight_through_gradients_reach_the_latent() -> None:
    image = _image().double()
    image.encode_random(torch.Generator().manual_seed(4))
    image.get_latent().sum().backward()
    torch.testing.assert_close(image.tensor.grad, torch.ones_like(image.tensor))
    image.tensor.grad = None
    codes = image.get_latent().detach()
    raw = (image.network.decode(codes) + 1) / 2
    weights = torch.randn(raw.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    # pytti's clamp keeps a pixel's gradient unless a descent step would push it further out of [0, 1]
    kept = weights * ~(((raw < 0) & (weights > 0)) | ((raw > 1) & (weights < 0)))
    assert 0 < int((kept != weights).sum()) < raw.numel() // 20  # a few pixels below 0 are blocked
    (image.decode_training() * weights).sum().backward()

    def unclamped(latent: torch.Tensor) -> torch.Tensor:
        return ((image.network.decode(latent) + 1) / 2 * kept).sum()

    # straight through the quantiser: the latent's gradient is the decoder's at the nearest codes
    left = (torch.arange(codes.shape[-1]) < codes.shape[-1] // 2).to(torch.float64)
    assert_gradient_matches_slopes(unclamped, codes, image.tensor.grad.permute(0, 3, 1, 2), step=1e-4, rel=1e-6,
                                   region=left)


def test_backups_hold_only_the_latent_and_ema_buffers() -> None:
    image = _image()
    image.encode_random(torch.Generator().manual_seed(5))
    image.after_step()
    state = image.state_dict()
    assert list(state) == ["tensor", "biased", "average", "accum"]
    assert [name for name, _ in image.named_parameters()] == ["tensor"]
    restored = _image()
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.decode(), image.decode())


def test_moving_the_image_moves_the_network() -> None:
    image = _image().to(torch.float64)
    assert image.tensor.dtype == torch.float64
    assert image.network.codebook.dtype == torch.float64
    assert image.decode_training().dtype == torch.float64
    image.to("meta")
    assert image.network.codebook.device.type == "meta"
