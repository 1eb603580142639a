"""Optical flow: padding, the models' input scaling and convention, DIS on a known translation, RAFT with
random weights through the registry, the consistency mask, the cut test and the warp along a flow."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from source_videos import texture

from dreamloom.animation.optical_flow import (
    DisFlow,
    FlowWarp,
    RaftFlow,
    consistency_mask,
    flow_warp,
    is_cut,
    load_flow_model,
    pad_to_multiple,
    raft_network,
)
from dreamloom.errors import WeightsError
from dreamloom.models.cache import file_path
from dreamloom.models.registry import get_entry
from dreamloom.settings.choices import InfillMode, OpticalFlowModel, SamplingMode


def textured(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A smooth random texture. Shape: [1, 3, height, width] in [0, 1]"""
    pixels = torch.from_numpy(texture(max(height, width) + 16, seed)).float() / 255
    return pixels.permute(2, 0, 1)[None, :, :height, :width].contiguous()


def shifted_pair(dx: int, dy: int, size: tuple[int, int] = (56, 60)) -> tuple[torch.Tensor, torch.Tensor]:
    """Two crops of one texture; ``b`` shows ``a``'s content moved by (dx, dy): a(p) = b(p + (dx, dy))."""
    height, width = size
    big = torch.nn.functional.interpolate(textured(24, 24), size=(height + 16, width + 16), mode="bilinear")
    a = big[..., 8 : 8 + height, 8 : 8 + width]
    b = big[..., 8 - dy : 8 - dy + height, 8 - dx : 8 - dx + width]
    return a.contiguous(), b.contiguous()


def test_padding_reaches_multiples_of_8_repeating_the_edges_and_keeps_the_corner():
    pictures = torch.arange(2 * 3 * 5 * 10, dtype=torch.float32).reshape(2, 3, 5, 10)
    padded = pad_to_multiple(pictures)
    assert padded.shape == (2, 3, 8, 16)
    assert torch.equal(padded[..., :5, :10], pictures)
    assert torch.equal(padded[..., 7, :10], pictures[..., 4, :])  # bottom rows repeat the last row
    assert torch.equal(padded[..., :5, 15], pictures[..., :, 9])
    assert pad_to_multiple(padded) is padded


def test_dis_recovers_a_known_translation_within_half_a_pixel():
    a, b = shifted_pair(3, -2)
    flow = DisFlow()(a, b)
    assert flow.shape == (1, 2, 56, 60)
    inner = flow[..., 8:-8, 8:-8]
    assert (inner[:, 0] - 3).abs().max() < 0.5 and (inner[:, 1] + 2).abs().max() < 0.5


class _Recorder(torch.nn.Module):
    """A stand-in RAFT network that records its inputs and answers a flow of (1, 2) at every pixel."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.updates = 0

    def forward(self, a, b, num_flow_updates):
        self.seen = [a, b]
        self.updates = num_flow_updates
        flow = torch.ones(a.shape[0], 2, *a.shape[-2:])
        flow[:, 1] = 2
        return [flow * 0, flow]


def test_raft_sees_minus_one_to_one_padded_to_its_minimum_size_and_answers_at_the_input_size():
    recorder = _Recorder()
    a, b = torch.zeros(1, 3, 60, 140), torch.ones(1, 3, 60, 140)
    flow = RaftFlow(recorder, iterations=5)(a, b)
    assert flow.shape == (1, 2, 60, 140) and recorder.updates == 5
    assert [tuple(seen.shape) for seen in recorder.seen] == [(1, 3, 128, 144)] * 2  # ≥ 128, multiple of 8
    assert recorder.seen[0].unique().tolist() == [-1.0] and recorder.seen[1].unique().tolist() == [1.0]
    assert flow[:, 0].unique().tolist() == [1.0] and flow[:, 1].unique().tolist() == [2.0]  # the last update


def test_random_raft_and_dis_give_flows_of_one_shape_and_raft_is_differentiable():
    torch.manual_seed(0)
    raft = RaftFlow(raft_network(OpticalFlowModel.RAFT_SMALL), iterations=1)
    a, b = shifted_pair(2, 1)
    a.requires_grad_(True)
    flow = raft(a, b)
    assert flow.shape == DisFlow()(a.detach(), b).shape == (1, 2, 56, 60) and flow.dtype == torch.float32
    (gradient,) = torch.autograd.grad(flow.square().sum(), a)
    assert gradient.abs().sum() > 0
    assert raft.differentiable and not DisFlow.differentiable


def test_raft_weights_come_from_the_registry_and_missing_ones_name_the_download_command(tmp_path: Path, monkeypatch):
    torch.manual_seed(1)
    saved = raft_network(OpticalFlowModel.RAFT_SMALL).state_dict()
    place = file_path(get_entry("raft-small").files[0], tmp_path)
    place.parent.mkdir(parents=True)
    torch.save(saved, place)
    model = load_flow_model(OpticalFlowModel.RAFT_SMALL, tmp_path, device=torch.device("cpu"), allow_download=False)
    assert isinstance(model, RaftFlow)
    loaded = model.network.state_dict()
    assert all(torch.equal(loaded[key], value) for key, value in saved.items())
    assert isinstance(load_flow_model(OpticalFlowModel.DIS, tmp_path, device=torch.device("cpu")), DisFlow)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match="dreamloom models download raft-large"):
        load_flow_model(OpticalFlowModel.RAFT_LARGE, tmp_path, device=torch.device("cpu"))


def test_a_file_of_another_model_is_refused_with_the_download_command(tmp_path: Path):
    place = file_path(get_entry("raft-large").files[0], tmp_path)
    place.parent.mkdir(parents=True)
    torch.save(raft_network(OpticalFlowModel.RAFT_SMALL).state_dict(), place)
    with pytest.raises(WeightsError, match="does not fit raft-large.*dreamloom models download raft-large"):
        load_flow_model(OpticalFlowModel.RAFT_LARGE, tmp_path, device=torch.device("cpu"), allow_download=False)


def uniform(dx: float, dy: float, size: tuple[int, int] = (12, 16)) -> torch.Tensor:
    flow = torch.empty(1, 2, *size)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


@pytest.mark.parametrize("sampling", [SamplingMode.NEAREST, SamplingMode.BILINEAR, SamplingMode.BICUBIC])
def test_flow_warp_with_a_whole_pixel_flow_moves_the_picture_exactly(sampling):
    image = textured(12, 16)
    moved = flow_warp(image, uniform(2, -1), sampling, InfillMode.WRAP)
    assert torch.allclose(moved, torch.roll(image, shifts=(1, -2), dims=(2, 3)), atol=1e-6)


def test_flow_warp_rescales_a_flow_of_another_size_to_the_pictures_pixels():
    """A flow at twice the picture's size moves 4 of its pixels = 2 picture pixels."""
    image = textured(12, 16)
    warp = FlowWarp(uniform(4, 0, size=(24, 32)), SamplingMode.BILINEAR, InfillMode.WRAP)
    assert torch.allclose(warp(image), torch.roll(image, shifts=-2, dims=3), atol=1e-6)


def test_flow_warp_half_a_pixel_is_the_mean_of_the_neighbours_and_black_infill_is_zero():
    image = textured(12, 16)
    moved = flow_warp(image, uniform(0.5, 0), SamplingMode.BILINEAR, InfillMode.BLACK)
    assert torch.allclose(moved[..., :-1], (image[..., :-1] + image[..., 1:]) / 2, atol=1e-6)
    assert torch.allclose(moved[..., -1], image[..., -1] / 2, atol=1e-6)  # half of the tap is off the picture


def test_consistent_translation_is_reliable_except_where_it_leaves_the_picture():
    """Columns 13–15 land past the right edge (0); the 3×3 Gaussian blur (σ 0.8) then mixes columns 12 and
    13 with their neighbours by its exact weights."""
    mask = consistency_mask(uniform(3, 0), uniform(-3, 0))
    assert mask.shape == (1, 1, 12, 16)
    side = torch.exp(torch.tensor(-1 / (2 * 0.8**2)))
    total = 1 + 2 * side
    expected = torch.tensor([1.0] * 12 + [float((1 + side) / total), float(side / total), 0, 0])
    assert torch.allclose(mask, expected.expand(1, 1, 12, 16), atol=1e-6)


def test_going_and_not_coming_back_is_an_occlusion_everywhere_and_a_cut():
    mask = consistency_mask(uniform(1, 0), uniform(1, 0))  # |1 + 1|² = 4 ≥ 0.01·2 + 0.5
    assert torch.equal(mask, torch.zeros_like(mask))
    assert is_cut(mask) and not is_cut(consistency_mask(uniform(1, 0), uniform(-1, 0)))
    assert is_cut(torch.full((1, 1, 4, 4), 0.029)) and not is_cut(torch.full((1, 1, 4, 4), 0.031))


def test_a_motion_boundary_is_unreliable_on_both_sides_of_the_edge():
    """Left half still, right half moving 2 px down: the central difference across the edge is 1 per
    component pixel, far above 0.01·|flow|² + 0.002."""
    flow = uniform(0, 0)
    flow[..., 8:] = torch.tensor([0.0, 2.0])[:, None, None]
    reverse = -flow
    raw = consistency_mask(flow, reverse)
    assert raw[0, 0, 5, 2].item() == pytest.approx(1) and raw[0, 0, 5, 13].item() == pytest.approx(1)
    assert raw[0, 0, 5, 7].item() < 0.5 and raw[0, 0, 5, 8].item() < 0.5
