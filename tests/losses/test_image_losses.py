"""Weighting (shared by image and prompt losses), smoothing and direct losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from dreamloom.losses.direct import hsv_channels, hsv_loss, masked_mse
from dreamloom.losses.smoothing import tv_loss
from dreamloom.losses.weighting import apply_weight


def test_weight_scales_value_and_gradient():
    raw = torch.tensor(0.5, requires_grad=True)
    loss = apply_weight(raw, 3.0, -math.inf)
    loss.backward()
    assert loss.item() == pytest.approx(1.5)
    assert raw.grad.item() == pytest.approx(3.0)


def test_negative_weight_maximises_until_the_stop():
    raw = torch.tensor(0.5, requires_grad=True)
    apply_weight(raw, -2.0, -0.9).backward()  # signed loss -0.5 is above the stop: gradient flows
    assert raw.grad.item() == pytest.approx(-2.0)
    raw = torch.tensor(0.95, requires_grad=True)
    loss = apply_weight(raw, -2.0, -0.9)  # signed loss -0.95 is below the stop: no gradient
    loss.backward()
    assert loss.item() == pytest.approx(-1.9)
    assert raw.grad.item() == 0.0


def test_per_element_weights_and_stops():
    """Mask weights and stops are tensors: each element keeps its own sign and its own stop."""
    raw = torch.tensor([0.5, 0.5, 0.95, 0.2], dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([2.0, -1.0, -1.0, 0.0], dtype=torch.float64)
    stop = torch.tensor([0.6, -math.inf, -0.9, -math.inf], dtype=torch.float64)
    loss = apply_weight(raw, weight, stop)
    loss.sum().backward()
    assert loss.tolist() == pytest.approx([1.0, -0.5, -0.95, 0.0])
    # 0.5 < 0.6 stops pulling; -0.5 pushes freely; -0.95 < -0.9 stops pushing; weight 0 never moves
    assert raw.grad.tolist() == [0.0, -1.0, 0.0, 0.0]


def test_tv_of_a_known_picture():
    image = torch.zeros(1, 1, 2, 2)
    image[0, 0, 0, 1] = 1.0  # one bright pixel at the top right
    # differences: dx at (0,0) = 1, dy at (0,1) = -1; last row/column replicated → 0; mean over 4 pixels
    assert tv_loss(image).item() == pytest.approx(2 / 4)
    assert tv_loss(torch.full((1, 3, 5, 7), 0.3)).item() == 0.0


def test_hsv_channels_of_pure_colours():
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    grey = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    assert hsv_channels(red).flatten().tolist() == pytest.approx([1, 0, 0, 1, 1])
    assert hsv_channels(grey).flatten().tolist() == pytest.approx([0.5, 0.5, 0.5, 0, 0.5])


def test_masked_mse_dilutes_by_the_whole_area():
    prediction = torch.ones(1, 1, 2, 2)
    target = torch.zeros(1, 1, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert masked_mse(prediction, target, None).item() == pytest.approx(1.0)
    assert masked_mse(prediction, target, mask).item() == pytest.approx(0.25)


def test_hsv_loss_is_zero_on_the_target_and_positive_elsewhere():
    target = torch.rand(1, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    assert hsv_loss(target, target).item() == 0.0
    assert hsv_loss(1 - target, target).item() > 0.01
