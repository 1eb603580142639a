"""Every fast path computes what the plain path computes: values and input gradients (float64)."""

from __future__ import annotations

import copy

import open_clip
import pytest
import torch
from kornia.enhance import adjust_hue, adjust_saturation
from torch import nn

from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.augment import jitter_colour
from dreamloom.perception.fast_paths import LeanQuickGELU, PatchProjection, accelerate_patches, lean_activations


def _tiny_clip(quick_gelu: bool = False) -> open_clip.CLIP:
    torch.manual_seed(0)
    return open_clip.CLIP(
        embed_dim=16,
        quick_gelu=quick_gelu,
        vision_cfg=open_clip.CLIPVisionCfg(layers=1, width=32, head_width=8, patch_size=8, image_size=32),
        text_cfg=open_clip.CLIPTextCfg(context_length=12, vocab_size=100, width=32, heads=4, layers=1),
    ).double().eval()


def _value_and_grad(module: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    leaf = images.clone().requires_grad_(True)
    out = module(leaf)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    assert leaf.grad is not None
    return out.detach(), leaf.grad


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("side", [32, 37])  # 37: a partial patch at the edges is ignored, as by the conv
def test_patch_projection_equals_the_convolution(bias: bool, side: int) -> None:
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 24, kernel_size=8, stride=8, bias=bias).double()
    images = torch.rand(2, 3, side, side, dtype=torch.float64)
    expected, expected_grad = _value_and_grad(conv, images)
    value, grad = _value_and_grad(PatchProjection(conv), images)
    assert value.shape == expected.shape == (2, 24, side // 8, side // 8)
    assert torch.allclose(value, expected, atol=1e-12)
    assert torch.allclose(grad, expected_grad, atol=1e-12)


def test_accelerated_vit_embeds_the_same_and_keeps_its_state_dict_keys() -> None:
    plain = _tiny_clip()
    fast = copy.deepcopy(plain)
    assert accelerate_patches(fast) == 1
    assert isinstance(fast.visual.conv1, PatchProjection)
    assert list(fast.state_dict()) == list(plain.state_dict())
    images = torch.rand(3, 3, 32, 32, dtype=torch.float64)
    expected, expected_grad = _value_and_grad(plain.encode_image, images)
    value, grad = _value_and_grad(fast.encode_image, images)
    assert torch.allclose(value, expected, atol=1e-12)
    assert torch.allclose(grad, expected_grad, atol=1e-12)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "swapped"),
    [
        ((8, 8), (8, 8), 0, True),
        ((8, 8), (8, 8), "valid", True),
        ((4, 8), (8, 8), 0, False),
        ((8, 4), (8, 4), 0, False),
        ((8, 8), (4, 8), 0, False),
        ((8, 8), (8, 4), 0, False),
        ((8, 8), (8, 8), 1, False),
    ],
)
def test_a_patch_convolution_is_one_whose_square_kernel_equals_its_stride(
    kernel: tuple[int, int], stride: tuple[int, int], padding: int | str, swapped: bool
) -> None:
    model = _tiny_clip()
    model.visual.conv1 = nn.Conv2d(3, 32, kernel_size=kernel, stride=stride, padding=padding, bias=False)
    assert accelerate_patches(model) == int(swapped)
    assert isinstance(model.visual.conv1, PatchProjection) == swapped


def test_models_without_a_vit_patch_embedding_are_left_alone() -> None:
    assert accelerate_patches(nn.Linear(2, 2)) == 0
    model = _tiny_clip()
    del model.visual.conv1
    assert accelerate_patches(model) == 0


def test_only_kernel_equals_stride_convolutions_are_swapped() -> None:
    resnet = open_clip.CLIP(
        embed_dim=16,
        vision_cfg=open_clip.CLIPVisionCfg(layers=(1, 1, 1, 1), width=8, image_size=32),
        text_cfg=open_clip.CLIPTextCfg(context_length=12, vocab_size=100, width=32, heads=4, layers=1),
    )
    assert accelerate_patches(resnet) == 0
    assert type(resnet.visual.conv1) is nn.Conv2d


def test_perceptor_wraps_a_vit_with_the_patch_projection() -> None:
    perceptor = Perceptor(
        _tiny_clip().float(), open_clip.get_tokenizer("ViT-B-32-quickgelu"), name="tiny", input_size=32,
        mean=open_clip.OPENAI_DATASET_MEAN, std=open_clip.OPENAI_DATASET_STD, context_length=12,
    )
    assert isinstance(perceptor.model.visual.conv1, PatchProjection)
    assert not perceptor.model.visual.conv1.weight.requires_grad


def _colour_cases() -> torch.Tensor:
    """Random colours, and in the first four rows the awkward ones: greys (hue undefined), black, and a
    tie for the maximum channel, where the function has no derivative."""
    images = torch.rand(4, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    images[0, :, :4] = 0.5
    images[1, :, :4] = 0.0
    images[2, 0, :4] = images[2, 1, :4]
    return images


@pytest.mark.parametrize(
    ("saturation", "hue"),
    [
        ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]),  # neutral
        ([0.99, 1.01, 1.0, 0.995], [0.06, -0.06, 0.03, -0.01]),  # pytti's jitter range
        ([0.0, 2.5, 0.3, 1.7], [3.0, -3.0, 6.0, -0.5]),  # far outside it, wrapping the hue circle
    ],
)
def test_jitter_colour_equals_kornia_saturation_then_hue(saturation: list[float], hue: list[float]) -> None:
    factor = torch.tensor(saturation, dtype=torch.float64)
    angle = torch.tensor(hue, dtype=torch.float64)
    images = _colour_cases()
    expected, expected_grad = _value_and_grad(lambda x: adjust_hue(adjust_saturation(x, factor), angle), images)
    value, grad = _value_and_grad(lambda x: jitter_colour(x, factor, angle), images)
    assert torch.allclose(value, expected, atol=1e-7)  # kornia adds 1e-8 to the saturation's denominator
    assert torch.allclose(grad[..., 4:, :], expected_grad[..., 4:, :], atol=1e-6)


def test_jitter_colour_is_the_identity_with_its_gradient_at_neutral_settings() -> None:
    images = _colour_cases()
    value, grad = _value_and_grad(lambda x: jitter_colour(x, torch.ones(4, dtype=x.dtype), torch.zeros(4, dtype=x.dtype)), images)
    upstream = torch.linspace(-1, 1, images.numel(), dtype=images.dtype).view_as(images)
    assert torch.allclose(value, images, atol=1e-12)
    assert torch.allclose(grad, upstream, atol=1e-12)  # greys and ties included (kornia's is not)


def test_lean_quick_gelu_equals_open_clip_quick_gelu() -> None:
    plain = open_clip.transformer.QuickGELU()
    values = torch.linspace(-8, 8, 101, dtype=torch.float64)
    expected, expected_grad = _value_and_grad(plain, values)
    value, grad = _value_and_grad(LeanQuickGELU(), values)
    assert torch.allclose(value, expected, atol=1e-14)
    assert torch.allclose(grad, expected_grad, atol=1e-12)
    model = _tiny_clip(quick_gelu=True)
    assert lean_activations(model) == 2  # one MLP in the image tower, one in the text tower
    assert not any(type(m).__name__ == "QuickGELU" for m in model.modules())
    assert sum(isinstance(m, LeanQuickGELU) for m in model.modules()) == 2
