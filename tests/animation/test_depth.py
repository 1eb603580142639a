"""Depth models: the relative-depth → pixels scale, r/R/mu, the network size, and loading through the registry
(a tiny random Depth Anything written where the registry keeps the weights; nothing is downloaded)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from depth_fakes import tiny_depth_spec, write_tiny_weights
from safetensors.torch import load_file, save_file

from dreamloom.animation import depth_specs
from dreamloom.animation.depth import (
    DepthAnything,
    FlatDepth,
    depth_in_pixels,
    depth_statistics,
    network_size,
)
from dreamloom.animation.depth_loading import load_depth_model, load_depth_network
from dreamloom.errors import DreamloomError, WeightsError

CPU = torch.device("cpu")


def pytti_pixels(metres: float, near: float, far: float) -> float:
    """pytti's map of AdaBins metres onto the planes: 1 mm → near, 10 m → far, linear (§3.3)."""
    return near + (metres - 0.001) / (10 - 0.001) * (far - near)


def test_nearest_and_farthest_points_sit_at_one_and_ten_metres_in_pyttis_pixel_scale() -> None:
    nearness = torch.tensor([[[[0.0, 1.0, 0.5, 0.25]]]], dtype=torch.float64)
    depth = depth_in_pixels(nearness, 1.0, 10001.0)
    # inverse depth interpolated between 1 m (nearness 1) and 10 m (nearness 0)
    metres = [10.0, 1.0, 1 / (0.5 + 0.5 / 10), 1 / (0.25 + 0.75 / 10)]
    expected = torch.tensor([[[[pytti_pixels(m, 1.0, 10001.0) for m in metres]]]], dtype=torch.float64)
    torch.testing.assert_close(depth, expected)


def test_relative_depth_is_read_up_to_scale_and_shift_per_picture() -> None:
    nearness = torch.rand(2, 1, 5, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    shifted = torch.cat([nearness[:1] * 40 + 3, nearness[1:] * 0.01 - 9])
    torch.testing.assert_close(depth_in_pixels(shifted, 5.0, 900.0), depth_in_pixels(nearness, 5.0, 900.0))


def test_a_picture_without_depth_is_a_plane_at_mid_depth() -> None:
    flat = FlatDepth()(torch.rand(1, 3, 6, 9))
    assert flat.shape == (1, 1, 6, 9)
    assert torch.equal(depth_in_pixels(flat, 10.0, 410.0), torch.full((1, 1, 6, 9), 210.0))
    assert torch.equal(depth_in_pixels(torch.full((1, 1, 2, 2), 3.7), 10.0, 410.0), torch.full((1, 1, 2, 2), 210.0))


def test_r_R_and_mu_are_the_nearest_the_farthest_and_the_mean_of_mean_and_median() -> None:
    depth = torch.tensor([[[[4.0, 10.0], [1.0, 100.0]]]])
    assert depth_statistics(depth) == {"r": 1.0, "R": 100.0, "mu": pytest.approx((28.75 + 7.0) / 2)}


@pytest.mark.parametrize(
    ("size", "expected"),
    [((600, 800), (392, 518)), ((40, 64), (28, 56)), ((5, 5), (14, 14)), ((2000, 100), (518, 28))],
)
def test_the_network_sees_a_bounded_multiple_of_its_patch(size: tuple[int, int], expected: tuple[int, int]) -> None:
    input_size = 518 if size != (40, 64) else 56
    assert network_size(*size, input_size, 14) == expected


@pytest.fixture
def tiny_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """depth-anything-v2-small's architecture made tiny, its weights written at the registry's path."""
    spec = tiny_depth_spec()
    monkeypatch.setitem(depth_specs._SPECS, spec.name, spec)
    write_tiny_weights(tmp_path, spec)
    return tmp_path


def test_depth_anything_loads_through_the_registry_frozen_and_sees_the_picture(tiny_registry: Path) -> None:
    model = load_depth_model("depth-anything-v2-small", tiny_registry, device=CPU, allow_download=False)
    assert isinstance(model, DepthAnything) and not model.training
    assert not any(parameter.requires_grad for parameter in model.parameters())
    saved = load_file(str(tiny_registry / "depth" / "depth-anything-v2-small" / "model.safetensors"))
    loaded = model.network.state_dict()
    assert saved.keys() == loaded.keys() and all(torch.equal(saved[key], loaded[key]) for key in saved)
    generator = torch.Generator().manual_seed(3)
    first, second = torch.rand(2, 1, 3, 30, 44, generator=generator)
    with torch.inference_mode():
        near_first, near_second = model(first), model(second)
    assert near_first.shape == (1, 1, 30, 44)
    assert not torch.allclose(near_first, near_second)  # the depth follows the picture


def test_the_network_sees_the_picture_normalised_with_imagenets_mean_and_std(tiny_registry: Path) -> None:
    """At a size the network takes as it is (28 px, two patches), the model is the network on the normalised
    picture."""
    model = load_depth_model("depth-anything-v2-small", tiny_registry, device=CPU)
    picture = torch.rand(1, 3, 28, 28, generator=torch.Generator().manual_seed(5))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.inference_mode():
        expected = model.network(pixel_values=(picture - mean) / std).predicted_depth[:, None]
        torch.testing.assert_close(model(picture), expected)


def test_the_depth_model_is_differentiable_in_the_picture(tiny_registry: Path) -> None:
    model = load_depth_model("depth-anything-v2-small", tiny_registry, device=CPU)
    picture = torch.rand(1, 3, 28, 28, generator=torch.Generator().manual_seed(4), requires_grad=True)
    model(picture).square().mean().backward()
    assert picture.grad is not None and picture.grad.abs().sum() > 0


def test_weights_of_another_architecture_are_refused_with_the_download_command(tiny_registry: Path) -> None:
    path = tiny_registry / "depth" / "depth-anything-v2-small" / "model.safetensors"
    tensors = load_file(str(path))
    save_file({key: value for key, value in tensors.items() if not key.startswith("head.")}, str(path))
    with pytest.raises(WeightsError, match=r"does not fit depth model 'depth-anything-v2-small': missing: head\..*"
                                           r"dreamloom models download depth-anything-v2-small"):
        load_depth_model("depth-anything-v2-small", tiny_registry, device=CPU)


@pytest.mark.parametrize("name", ["depth-anything-v2-small", "depth-anything-v2-base"])
def test_missing_weights_offline_name_the_download_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=rf"(?s)'{name}'.*place it at.*{tmp_path / 'depth' / name / 'model.safetensors'}"
                                           rf".*dreamloom models download {name}"):
        load_depth_model(name, tmp_path, device=CPU)


def test_flat_depth_needs_neither_weights_nor_transformers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # any import of transformers now fails
    model = load_depth_model("flat", tmp_path, device=CPU, allow_download=False)
    assert isinstance(model, FlatDepth) and not any(tmp_path.iterdir())
    with pytest.raises(DreamloomError, match="depth_model: depth-anything-v2-small needs the transformers package"):
        load_depth_network(tiny_depth_spec(), tmp_path / "model.safetensors", device=CPU)
