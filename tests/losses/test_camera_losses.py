"""The 3D stabilization losses: scale-and-shift-invariant depth, and the target flow without pytti's NaN."""

from __future__ import annotations

import pytest
import torch

from dreamloom.losses.depth import depth_loss
from dreamloom.losses.target_flow import target_flow_loss


def field(seed: int, channels: int = 1) -> torch.Tensor:
    return torch.rand(1, channels, 6, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("scale", "shift"), [(1.0, 0.0), (250.0, -3.0), (1e-3, 7.0)])
def test_depth_agreeing_up_to_scale_and_shift_costs_nothing(scale: float, shift: float) -> None:
    target = field(0)
    assert depth_loss(target * scale + shift, target).item() == pytest.approx(0.0, abs=1e-12)


def test_depth_loss_is_one_minus_the_squared_correlation() -> None:
    target, other = field(1), field(2)
    centred_t, centred_o = target - target.mean(), other - other.mean()
    correlation = (centred_t * centred_o).mean() / (centred_t.square().mean() * centred_o.square().mean()).sqrt()
    assert correlation > 0
    assert depth_loss(other, target).item() == pytest.approx(1 - correlation.item() ** 2)


def test_inside_out_or_flat_depth_explains_nothing() -> None:
    target = field(3)
    assert depth_loss(-target, target).item() == pytest.approx(1.0)
    assert depth_loss(torch.zeros_like(target), target).item() == pytest.approx(1.0)


def test_masked_out_pixels_do_not_count() -> None:
    target = field(4)
    prediction = target.clone()
    prediction[..., :, 4:] = field(5)[..., :, 4:]  # wrong on the right half only
    mask = torch.zeros(1, 1, 6, 8, dtype=torch.float64)
    mask[..., :4] = 1
    assert depth_loss(prediction, target, mask).item() == pytest.approx(0.0, abs=1e-12)
    assert depth_loss(prediction, target).item() > 0.01


def test_depth_loss_gradients_are_exact() -> None:
    target, prediction = field(6), field(7).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: depth_loss(p, target), (prediction,))


def test_flow_error_is_divided_by_the_targets_mean_squared_magnitude() -> None:
    target = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    target[:, 0] = 3.0  # 3 px right everywhere: mean squared magnitude 9
    flow = target.clone()
    flow[:, 1] = 1.5  # and 1.5 px down, which the target does not have
    assert target_flow_loss(flow, target).item() == pytest.approx((1.5**2 / 2) / 9)


def test_a_still_camera_gives_the_plain_error_not_nan() -> None:
    target = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    assert target_flow_loss(torch.zeros_like(target), target).item() == 0.0
    flow = torch.full_like(target, 0.5)
    assert target_flow_loss(flow, target).item() == pytest.approx(0.25)
