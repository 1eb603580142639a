"""The Unlimited Palette (raw RGB) model: test vector T4 of image-models.md §10 and its behaviour."""

import numpy as np
import pytest
import torch
from PIL import Image

from dreamloom.errors import SettingsError
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.images.rgb import RGBImage
from dreamloom.losses.direct import hsv_loss


def test_defaults_follow_pytti() -> None:
    model = RGBImage(3, 2)
    assert model.default_lr == 0.02
    assert model.latent_strength == 0.0
    assert list(model.state_dict()) == ["tensor"]


def test_direct_loss_is_hsv_towards_the_resized_picture() -> None:
    model = RGBImage(3, 2)
    picture = Image.new("RGB", (6, 4), (200, 40, 10))
    decoded = torch.full((1, 3, 2, 3), 0.5)
    expected = hsv_loss(decoded, picture_to_tensor(picture, (3, 2)))
    assert torch.equal(model.direct_loss(picture, None)(decoded), expected) and expected.item() > 0


def test_vector_t4_shapes_upscaling_and_clamp() -> None:
    model = RGBImage(3, 2, pixel_size=2)
    assert model.tensor.shape == (1, 3, 2, 3)
    assert model.output_size == (4, 6)
    with torch.no_grad():
        model.tensor[0, 0] = torch.tensor([[-0.3, -0.2, -0.1], [0.0, 0.1, 0.2]])
    channel = model.decode_training()[0, 0].detach()
    expected = torch.tensor([[0.0] * 6, [0.0] * 6, [0, 0, 0.1, 0.1, 0.2, 0.2], [0, 0, 0.1, 0.1, 0.2, 0.2]])
    torch.testing.assert_close(channel, expected)


def test_gradient_passes_outside_range_only_toward_it() -> None:
    model = RGBImage(2, 1, pixel_size=2)
    with torch.no_grad():
        model.tensor.copy_(torch.tensor([-0.5, 1.5]).reshape(1, 1, 1, 2).expand(1, 3, 1, 2))
    upward = torch.tensor([-1.0, -1.0]).repeat_interleave(2).expand(1, 3, 2, 4)
    model.decode_training().backward(upward)
    torch.testing.assert_close(model.tensor.grad[0, :, 0], torch.tensor([[-4.0, 0.0]] * 3))


def test_encode_reproduces_picture_at_pixel_size_one() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    model = RGBImage(7, 5)
    model.encode_image(Image.fromarray(pixels, "RGB"))
    decoded = model.decode()[0].permute(1, 2, 0).detach().numpy()
    np.testing.assert_allclose(decoded, pixels / 255, atol=1e-6)
    assert np.array_equal(np.asarray(model.to_pil()), pixels)


def test_encode_random_is_reproducible_uniform_noise() -> None:
    first, second = RGBImage(8, 6), RGBImage(8, 6)
    first.encode_random(torch.Generator().manual_seed(4))
    second.encode_random(torch.Generator().manual_seed(4))
    values = first.tensor.detach()
    assert torch.equal(values, second.tensor.detach())
    assert 0 <= float(values.min()) and float(values.max()) < 1
    assert values.std() > 0.2


def test_image_tensor_round_trip() -> None:
    model = RGBImage(4, 3)
    model.encode_random(torch.Generator().manual_seed(0))
    grid = model.get_image_tensor().detach() + 0.25
    assert grid.shape == (3, 3, 4)
    model.set_image_tensor(grid)
    torch.testing.assert_close(model.get_image_tensor().detach(), grid)


def test_non_positive_pixel_size_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="pixel_size"):
        RGBImage(4, 4, pixel_size=0)
