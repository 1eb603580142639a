"""pytti's prompt loss against hand-computed values: distance, weight sign, stops, masks, offset."""

from __future__ import annotations

import math

import pytest
import torch

from dreamloom.losses.weighting import apply_weight
from dreamloom.perception.prompt_loss import prompt_loss, spherical_distance


def test_spherical_distance_is_half_the_squared_angle() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    y = torch.tensor([[0.0, 3.0], [-1.0, 0.0], [1.0, 0.0], [5.0, 0.0]])
    expected = torch.tensor([(math.pi / 2) ** 2 / 2, math.pi**2 / 2, (math.pi / 4) ** 2 / 2, 0.0])
    assert torch.allclose(spherical_distance(x, y), expected, atol=1e-5)
    assert spherical_distance(x, torch.tensor([1.0, 0.0])).shape == (4,)


def _grad(weight: float, stop: float, d: list[float], **mask: object) -> tuple[float, list[float], float]:
    distance = torch.tensor(d, dtype=torch.float64, requires_grad=True)
    loss, raw = prompt_loss(distance, weight=weight, stop=stop, **mask)  # type: ignore[arg-type]
    loss.backward()
    return float(loss.detach()), distance.grad.tolist(), float(raw)


def test_positive_weight_pulls_every_cutout_without_stop() -> None:
    value, grad, raw = _grad(2.0, -math.inf, [0.5, 1.0, 1.5])
    assert value == pytest.approx(2.0) and raw == pytest.approx(1.0)
    assert grad == pytest.approx([2 / 3] * 3)


def test_positive_weight_stops_pulling_below_the_stop() -> None:
    value, grad, _ = _grad(2.0, 0.8, [0.5, 1.0, 1.5])
    assert value == pytest.approx(2.0)  # the value is always the true weighted distance
    assert grad == pytest.approx([0.0, 2 / 3, 2 / 3])


def test_negative_weight_with_stop_pushes_until_minus_stop() -> None:
    value, grad, raw = _grad(-1.0, -0.9, [0.5, 1.0, 1.5])
    assert value == pytest.approx(-1.0) and raw == pytest.approx(1.0)
    assert grad == pytest.approx([-1 / 3, 0.0, 0.0])  # only d < 0.9 is still pushed away


def test_zero_weight_gives_zero_loss_but_keeps_raw() -> None:
    value, grad, raw = _grad(0.0, -math.inf, [0.5, 1.5])
    assert value == 0.0 and grad == [0.0, 0.0] and raw == pytest.approx(1.0)


def test_mask_stops_switch_cutouts_off_for_both_signs() -> None:
    stops = torch.tensor([0.0, 1.0], dtype=torch.float64)
    _, grad, _ = _grad(1.0, -math.inf, [0.5, 0.9], mask_stops=stops)
    assert grad == pytest.approx([0.5, 0.0])
    # negative weight: stop 0 -> -1 (push while d < 1), stop 1 -> 0 (never)
    _, grad, _ = _grad(-1.0, -math.inf, [0.5, 0.9], mask_stops=stops)
    assert grad == pytest.approx([-0.5, 0.0])


def test_mask_weights_scale_and_disable_cutouts() -> None:
    weights = torch.tensor([0.0, 2.0], dtype=torch.float64)
    value, grad, _ = _grad(-1.5, -math.inf, [0.5, 0.9], mask_weights=weights)
    assert value == pytest.approx(-1.5 * 2 * 0.9 / 2)
    assert grad == pytest.approx([0.0, -1.5])


def test_offset_shifts_value_raw_and_stop_comparison() -> None:
    value, grad, raw = _grad(1.0, 0.9, [0.1, 0.3], offset=0.7)
    assert value == pytest.approx(0.9) and raw == pytest.approx(0.9)
    assert grad == pytest.approx([0.0, 0.5])  # 0.8 < 0.9 stops, 1.0 > 0.9 pulls


def test_prompt_loss_is_the_mean_of_the_shared_rule() -> None:
    """The prompt loss is apply_weight over the cutouts, with the mask's stops shifted for a push."""
    distance = torch.tensor([0.2, 0.7, 1.1], dtype=torch.float64)
    mask_weights = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    mask_stops = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    leaf = distance.clone().requires_grad_(True)
    loss, raw = prompt_loss(leaf, weight=-1.5, stop=-0.6, mask_stops=mask_stops, mask_weights=mask_weights)
    loss.backward()
    shared = distance.clone().requires_grad_(True)
    stops = torch.clamp(mask_stops - 1, min=-0.6)  # a push lowers each mask stop by one
    expected = apply_weight(shared, -1.5 * mask_weights, stops).mean()
    expected.backward()
    assert torch.equal(loss, expected) and torch.equal(leaf.grad, shared.grad)
    assert raw.item() == pytest.approx(2.0 / 3)


def test_spherical_distance_of_opposite_embeddings_is_finite_despite_rounding() -> None:
    """In float32 ‖x̂ − ŷ‖/2 rounds to 1.0000001 for x = (3, 3, 3), y = −x: arcsin needs the clamp to stay finite."""
    x = torch.tensor([3.0, 3.0, 3.0])
    assert spherical_distance(x, -x).item() == pytest.approx(math.pi**2 / 2, rel=1e-6)
    nearly = torch.tensor([-3.0, -3.0, -2.9])  # angle from x: arccos(−8.9/√(27·26.41))
    angle = math.acos(-(9 + 9 + 8.7) / math.sqrt(27 * (9 + 9 + 8.41)))
    assert spherical_distance(x, nearly).item() == pytest.approx(angle**2 / 2, rel=1e-4)


def test_spherical_distance_normalises_and_measures_along_the_last_dimension() -> None:
    """[2, 3, 2] embeddings: F.normalize's default dim (1) or a norm over dim 1 would mix the three rows."""
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], [[4.0, 0.0], [1.0, 0.0], [0.0, -1.0]]])
    y = torch.tensor([[[0.0, 1.0], [0.0, 5.0], [-1.0, 1.0]], [[1.0, 1.0], [-2.0, 0.0], [3.0, 0.0]]])
    angles = torch.tensor([[math.pi / 2, 0.0, math.pi / 2], [math.pi / 4, math.pi, math.pi / 2]])
    assert torch.allclose(spherical_distance(x, y), angles.square() / 2, atol=1e-5)


def test_float_mask_weights_and_stops_are_applied_in_the_distances_precision() -> None:
    """A float mask weight or stop is used at float64 for float64 distances, not rounded to float32 first."""
    value, _, _ = _grad(0.3, -math.inf, [0.5, 1.5], mask_weights=0.1)
    assert abs(value - 0.03) < 1e-15  # 0.1 rounded to float32 would be off by 4e-10
    # 0.1000000007 lies between 0.1 and float32(0.1) = 0.10000000149: only the exact stop lets it pull
    _, grad, _ = _grad(1.0, -math.inf, [0.1000000007, 0.5], mask_stops=0.1)
    assert grad == pytest.approx([0.5, 0.5])
