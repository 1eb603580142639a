"""The one PIL → tensor conversion used by image models, image prompts and masks."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from dreamloom.images.pictures import picture_to_tensor


def _picture() -> Image.Image:
    pixels = np.array([[[0, 128, 255], [10, 20, 30]], [[255, 255, 255], [1, 2, 3]]], dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def test_values_are_eight_bit_levels_over_255() -> None:
    tensor = picture_to_tensor(_picture())
    assert tensor.shape == (1, 3, 2, 2) and tensor.dtype == torch.float32
    assert torch.equal(tensor[0, :, 0, 0], torch.tensor([0.0, 128.0, 255.0]) / 255)
    assert torch.equal(tensor[0, :, 1, 1] * 255, torch.tensor([1.0, 2.0, 3.0]))


def test_a_grey_picture_gives_three_equal_channels() -> None:
    grey = Image.fromarray(np.array([[0, 51], [102, 255]], dtype=np.uint8), "L")
    tensor = picture_to_tensor(grey)
    assert torch.equal(tensor[0, 0], tensor[0, 1]) and torch.equal(tensor[0, 0], tensor[0, 2])
    assert torch.equal(tensor[0, 0], torch.tensor([[0.0, 51.0], [102.0, 255.0]]) / 255)


def test_size_is_width_then_height_and_no_size_keeps_the_pixels() -> None:
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8))
    assert picture_to_tensor(picture, (5, 3)).shape == (1, 3, 3, 5)
    unchanged = picture_to_tensor(picture)
    expected = torch.from_numpy(np.array(picture)).permute(2, 0, 1)[None].float() / 255
    assert torch.equal(unchanged, expected)
    assert torch.equal(picture_to_tensor(picture, picture.size), unchanged)


def test_device_and_dtype_are_applied() -> None:
    tensor = picture_to_tensor(_picture(), device=torch.device("cpu"), dtype=torch.float64)
    assert tensor.dtype == torch.float64 and tensor[0, 2, 0, 0].item() == 1.0
