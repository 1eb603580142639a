"""pytti's edge loss against hand-computed values: grey weights, Sobel/8 responses on the batch axis, masked MSE."""

from __future__ import annotations

import pytest
import torch

from dreamloom.losses.edge import edge_loss, edge_maps, greyscale


def dot(value: float = 1.0) -> torch.Tensor:
    """A black 3×3 picture whose centre pixel is grey, of grey level ``value``.

    Shape: [1, 3, 3, 3]
    """
    picture = torch.zeros(1, 3, 3, 3, dtype=torch.float64)
    picture[0, :, 1, 1] = value / (0.2989 + 0.587 + 0.114)
    return picture


def test_grey_is_pyttis_weighted_sum_of_the_channels():
    picture = torch.zeros(1, 3, 1, 3, dtype=torch.float64)
    picture[0, 0, 0, 0] = picture[0, 1, 0, 1] = picture[0, 2, 0, 2] = 1.0
    assert greyscale(picture).flatten().tolist() == pytest.approx([0.2989, 0.587, 0.114])


def test_edge_maps_are_the_cross_correlations_with_sobel_over_eight_x_first_on_the_batch_axis():
    """A lone pixel of grey v answers with the kernels turned half a turn, times v/8 (zero padding)."""
    maps = edge_maps(dot(0.8))
    assert maps.shape == (2, 1, 3, 3)
    x = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64) * 0.8 / 8
    y = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=torch.float64) * 0.8 / 8
    assert torch.allclose(maps[0, 0], x) and torch.allclose(maps[1, 0], y)


def test_a_flat_picture_has_edges_only_where_the_zero_padding_starts():
    maps = edge_maps(torch.full((1, 3, 3, 3), 0.5, dtype=torch.float64))
    assert float(maps[0, 0, 1, 1]) == pytest.approx(0.0) and float(maps[1, 0, 1, 1]) == pytest.approx(0.0)
    grey = 0.5 * (0.2989 + 0.587 + 0.114)
    assert float(maps[0, 0, 1, 0]) == pytest.approx(-4 * grey / 8)  # the left column misses its left neighbours


def test_edge_loss_is_the_mean_squared_difference_over_both_maps():
    """Against flat black (no edges): squares of both kernels (12 + 12)/64·v², averaged over 2·9 elements."""
    black_edges = edge_maps(torch.zeros(1, 3, 3, 3, dtype=torch.float64))
    assert float(edge_loss(dot(0.8), black_edges)) == pytest.approx(24 / 64 * 0.64 / 18)
    assert float(edge_loss(dot(0.8), edge_maps(dot(0.8)))) == 0.0


def test_a_mask_keeps_its_pixels_and_still_averages_over_all_elements():
    """Only the left column counts: x response (−1, −2, −1)/8·v, y response (−1, 0, 1)/8·v; mean over 18."""
    black_edges = edge_maps(torch.zeros(1, 3, 3, 3, dtype=torch.float64))
    left = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    left[..., 0] = 1.0
    assert float(edge_loss(dot(0.8), black_edges, left)) == pytest.approx((6 + 2) / 64 * 0.64 / 18)


def test_the_loss_pulls_the_edges_toward_the_targets():
    picture = dot(0.8).requires_grad_(True)
    edge_loss(picture, edge_maps(torch.zeros(1, 3, 3, 3, dtype=torch.float64))).backward()
    assert float(picture.grad[0, :, 1, 1].sum()) > 0  # darkening the dot lowers the loss
    start = torch.rand(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: edge_loss(p, edge_maps(dot(0.3))), (start,))
