"""The pure functions behind the Limited Palette model, checked against hand computations."""

import numpy as np
import torch

from dreamloom.images.palette import LimitedPaletteImage
from dreamloom.images.palette_math import (
    clamp_keeping_edge_grad,
    palette_normalization_raw,
    safe_sqrt,
    sorted_display_palette,
)
from dreamloom.losses.direct import hsv_channels


def test_clamp_keeps_gradient_on_the_closed_range() -> None:
    x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    out = clamp_keeping_edge_grad(x, 0.0, 1.0)
    out.sum().backward()
    torch.testing.assert_close(out.detach(), torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))


def test_safe_sqrt_has_zero_gradient_at_zero() -> None:
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    out = safe_sqrt(x)
    out.sum().backward()
    torch.testing.assert_close(out.detach(), torch.tensor([0.0, 2.0]))
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 0.25]))


def test_hsv_channels_append_saturation_and_value() -> None:
    image = torch.tensor([0.8, 0.4, 0.2]).reshape(1, 3, 1, 1)
    expected = torch.tensor([0.8, 0.4, 0.2, 0.75, 0.8]).reshape(1, 5, 1, 1)
    torch.testing.assert_close(hsv_channels(image), expected)


def test_sorting_is_per_palette_by_hsp_brightness() -> None:
    raw = torch.tensor([[[2.0, 0, 0], [0, 0, 0]], [[0, 2.0, 0], [0, 0, 2.0]], [[0, 0, 2.0], [2.0, 2.0, 2.0]]])
    palette = sorted_display_palette(raw)
    torch.testing.assert_close(palette[:, 0], torch.tensor([[0, 0, 1.0], [1.0, 0, 0], [0, 1.0, 0]]))
    torch.testing.assert_close(palette[:, 1], torch.tensor([[0, 0, 0.0], [0, 0, 1.0], [1.0, 1.0, 1.0]]))


def numpy_palette_normalization(logits: np.ndarray) -> float:
    """§5.6 written out independently with numpy loops."""
    shares = np.exp(logits) / np.exp(logits).sum(axis=0)
    x = shares.reshape(shares.shape[0], -1).T
    pixels, palettes = x.shape
    mean, sigma = x.mean(axis=0), x.std(axis=0, ddof=1)
    total = 0.0
    for i in range(palettes):
        for j in range(palettes):
            if i != j:
                total += ((x[:, i] - mean[i]) * (x[:, j] - mean[j])).sum() / (sigma[i] * sigma[j] * pixels)
    return total / palettes**2 + np.mean(1 / (pixels * sigma))


def test_palette_normalization_matches_independent_formula() -> None:
    logits = np.random.default_rng(2).uniform(0, 1, size=(4, 5, 3))
    actual = palette_normalization_raw(torch.from_numpy(logits))
    np.testing.assert_allclose(float(actual), numpy_palette_normalization(logits), rtol=1e-10)


def test_constant_share_gives_nan_as_in_pytti() -> None:
    assert palette_normalization_raw(torch.rand(1, 3, 3, generator=torch.Generator().manual_seed(0))).isnan()


def test_two_palettes_are_perfectly_anticorrelated() -> None:
    logits = torch.stack([torch.zeros(2, 2), torch.tensor([[0.0, 1.0], [2.0, 3.0]])])
    sigma = logits.softmax(0).reshape(2, -1).std(dim=1)
    correlation = -3 / 4
    expected = 2 * correlation / 4 + (1 / (4 * sigma)).mean()
    torch.testing.assert_close(palette_normalization_raw(logits), expected)


def test_gradient_descent_turns_the_picture_red() -> None:
    model = LimitedPaletteImage(6, 6, pixel_size=2, palette_size=4, palettes=3)
    model.encode_random(torch.Generator().manual_seed(0))
    red = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1).expand(1, 3, 12, 12)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
    start = float((model.decode().detach() - red).square().mean())
    for _ in range(150):
        optimiser.zero_grad()
        loss = (model.decode_training() - red).square().mean() + sum(model.regularizers().values())
        loss.backward()
        optimiser.step()
        model.after_step()
    end = float((model.decode().detach() - red).square().mean())
    assert end < 0.25 * start
    mean_colour = model.decode().detach().mean(dim=(0, 2, 3))
    assert mean_colour[0] > mean_colour[1] + 0.3 and mean_colour[0] > mean_colour[2] + 0.3


def test_grid_fit_loss_has_the_full_size_gradient() -> None:
    model = LimitedPaletteImage(4, 3, pixel_size=3, palette_size=4, palettes=3, random_initial_palette=True)
    model.encode_random(torch.Generator().manual_seed(0))
    target = hsv_channels(torch.rand(1, 3, 9, 12, generator=torch.Generator().manual_seed(1)))
    full = (hsv_channels(model.decode_training()) - target).square().mean()
    full_grads = torch.autograd.grad(full, [model.pallet, model.tensor])
    grid = (hsv_channels(model.decode_grid()) - torch.nn.functional.avg_pool2d(target, 3)).square().mean()
    grid_grads = torch.autograd.grad(grid, [model.pallet, model.tensor])
    for expected, actual in zip(full_grads, grid_grads):
        torch.testing.assert_close(actual, expected)


def test_sort_keeps_the_order_of_equally_bright_colours() -> None:
    """Ten pairs of different colours with exactly equal float32 HSP brightness: a stable sort keeps each
    pair in palette order (an unstable one reorders some at this size)."""
    levels = torch.arange(0, 256, 5, dtype=torch.float32) / 255
    colours = torch.cartesian_prod(levels, levels, levels)
    weights = torch.tensor([0.299, 0.587, 0.114])
    brightness = (colours * colours * weights).sum(-1)
    _, inverse, counts = torch.unique(brightness, return_inverse=True, return_counts=True)
    entries = []
    for group in (counts >= 2).nonzero().flatten()[:10].flip(0).tolist():  # brightest pairs first
        entries += [colours[i] for i in (inverse == group).nonzero().flatten()[:2].tolist()]
    palette = torch.stack(entries)[:, None, :]  # [20, 1, 3] displayed colours
    keys = [float((c * c * weights).sum()) for c in entries]
    order = sorted(range(len(entries)), key=keys.__getitem__)  # Python's sort is stable
    assert torch.equal(sorted_display_palette(palette * 2)[:, 0], palette[order, 0])
