"""Augmentations: neutral parameters are the identity, known parameters give known images, seeds repeat."""

from __future__ import annotations

import pytest
import torch
from gradient_check import value_and_input_gradient

from dreamloom.perception.augment import (
    AugmentParams,
    apply_augmentations,
    augment,
    jitter_colour,
    sample_augmentations,
)

CPU = torch.device("cpu")


def _neutral(count: int, size: int, dtype: torch.dtype = torch.float64) -> AugmentParams:
    return AugmentParams(
        warp=torch.eye(3, dtype=dtype).repeat(count, 1, 1),
        saturation=torch.ones(count, dtype=dtype),
        hue=torch.zeros(count, dtype=dtype),
        erase=torch.zeros(count, 4, dtype=dtype),
        noise=torch.zeros(count, 3, size, size, dtype=dtype),
    )


def test_neutral_parameters_are_identity() -> None:
    cutouts = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert torch.allclose(apply_augmentations(cutouts, _neutral(2, 8)), cutouts, atol=1e-6)


def test_flip_matrix_flips_and_erase_box_zeroes_its_pixels() -> None:
    cutouts = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    params = _neutral(1, 8)
    flipped = AugmentParams(
        warp=torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))[None],
        saturation=params.saturation,
        hue=params.hue,
        erase=torch.tensor([[0.0, 0.5, 0.25, 1.0]], dtype=torch.float64),
        noise=params.noise,
    )
    out = apply_augmentations(cutouts, flipped)
    expected = cutouts.flip(-1)
    expected[..., 4:, :2] = 0
    assert torch.allclose(out, expected, atol=1e-6)


def test_same_seed_same_augmentations_and_statistics() -> None:
    draw = lambda seed: sample_augmentations(  # noqa: E731
        torch.Generator().manual_seed(seed), 4000, 4, device=CPU, dtype=torch.float64
    )
    a, b = draw(5), draw(5)
    assert torch.equal(a.warp, b.warp) and torch.equal(a.noise, b.noise)
    flipped = (a.warp[:, 0, 0] < 0).double().mean()
    assert abs(float(flipped) - 0.3) < 0.03
    erased = ((a.erase[:, 2] - a.erase[:, 0]) > 0).double().mean()
    assert abs(float(erased) - 0.7) < 0.03
    area = ((a.erase[:, 2] - a.erase[:, 0]) * (a.erase[:, 3] - a.erase[:, 1]))[(a.erase[:, 2] > a.erase[:, 0])]
    assert float(area.min()) >= 0.1 - 1e-9 and float(area.max()) <= 0.4 + 1e-9
    assert float(a.hue.abs().max()) <= 0.01 * 2 * torch.pi + 1e-9
    noise_std = a.noise.flatten(1).std(dim=1)
    assert float(noise_std.max()) < 0.2 and abs(float(noise_std.pow(2).mean()) - 0.1**2 / 3) < 0.0015


def test_augment_keeps_shape_and_passes_gradients() -> None:
    cutouts = torch.rand(3, 3, 16, 16, requires_grad=True)
    out = augment(cutouts, torch.Generator().manual_seed(0))
    assert out.shape == cutouts.shape
    out.sum().backward()
    assert cutouts.grad is not None and float(cutouts.grad.abs().sum()) > 0


@pytest.mark.parametrize(
    ("saturation", "hue"),
    [
        ([0.3, 1.0, 1.0, 1.8], [0.0, 1.2, 0.0, -2.0]),  # saturation only, hue only, neither, both
        ([1.0, 1.0, 0.5, 1.0], [0.0, 0.0, 0.0, 0.0]),  # a single cutout drawn
        ([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]),  # none
    ],
)
def test_colour_jitter_skips_only_the_cutouts_its_draw_leaves_unchanged(saturation: list, hue: list) -> None:
    """The result and gradient equal jittering every cutout; the undrawn ones pass through untouched."""
    cutouts = torch.rand(4, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    neutral = _neutral(4, 8)
    saturation, hue = torch.tensor(saturation, dtype=torch.float64), torch.tensor(hue, dtype=torch.float64)
    params = AugmentParams(neutral.warp, saturation, hue, neutral.erase, neutral.noise)
    value, grad = value_and_input_gradient(lambda x: apply_augmentations(x, params), cutouts)
    expected, expected_grad = value_and_input_gradient(lambda x: jitter_colour(x, saturation, hue), cutouts)
    assert torch.allclose(value, expected, atol=1e-12)
    assert torch.allclose(grad, expected_grad, atol=1e-12)
    drawn = (saturation != 1) | (hue != 0)
    assert torch.equal(value[~drawn], cutouts[~drawn])
    for index in drawn.nonzero()[:, 0]:
        assert not torch.allclose(value[index], cutouts[index], atol=1e-3)
