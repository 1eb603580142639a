"""Cutout sampling statistics, batched application against a per-cutout reference, border modes."""

from __future__ import annotations

import math

import pytest
import torch
from gradient_check import value_and_input_gradient
import torch.nn.functional as F
from torchvision.ops import roi_align

from dreamloom.errors import SettingsError
from dreamloom.perception import cutouts as cutouts_module
from dreamloom.perception.cutouts import (
    CutoutParams,
    CutoutSettings,
    _roi_align_cutouts,
    _separable_cutouts,
    apply_cutouts,
    pad_image,
    sample_cutouts,
)
from dreamloom.settings.choices import BorderMode
from dreamloom.settings.schema import Settings

CPU = torch.device("cpu")


def _draw(mode: BorderMode, count: int = 20000, hw: tuple[int, int] = (512, 512), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return sample_cutouts(
        g, count, cut_pow=2.0, cutout_border=0.25, border_mode=mode, device=CPU, image_hw=hw, cut_size=224
    )


def _expected_size_stats(low: float, cut_pow: float) -> tuple[float, float]:
    """Mean of clip(g, low, 1)^cut_pow for g ~ N(0.8, 0.3), and P(g >= 1), by numeric integration."""
    g = torch.linspace(-3, 5, 400001, dtype=torch.float64)
    density = torch.exp(-((g - 0.8) ** 2) / (2 * 0.09)) / math.sqrt(2 * math.pi * 0.09)
    step = float(g[1] - g[0])
    mean = float((g.clamp(low, 1.0) ** cut_pow * density).sum() * step)
    p_full = 0.5 * math.erfc((1.0 - 0.8) / (0.3 * math.sqrt(2)))
    return mean, p_full


def test_size_distribution_matches_pytti() -> None:
    params = _draw(BorderMode.CLAMP)
    side = params.sizes[:, 0].double()
    mean, p_full = _expected_size_stats(224 / 512, 2.0)
    assert abs(float(side.mean()) - mean) < 0.006
    assert abs(float((side >= 1 - 1e-6).double().mean()) - p_full) < 0.01
    assert float(side.min()) >= (224 / 512) ** 2 - 1e-6
    assert float(side.max()) <= 1.0 + 1e-6


def test_clamp_offsets_pile_up_at_edges_and_stay_inside() -> None:
    params = _draw(BorderMode.CLAMP)
    off, size = params.offsets.double(), params.sizes.double()
    assert bool((off >= 0).all()) and bool((off + size <= 1 + 1e-6).all())
    partial = size[:, 0] < 1 - 1e-6  # full-size cutouts sit at offset 0 and at the far edge at once
    s, ox = size[partial, 0], off[partial, 0]
    # P(offset clamped to 0) = E[border / (1 - s + 2 border)]; same mass at the far edge.
    expected = float((0.25 / (1 - s + 0.5)).mean())
    at_zero = float((ox == 0).double().mean())
    assert abs(at_zero - expected) < 0.01
    at_end = float((ox >= 1 - s - 1e-6).double().mean())
    assert abs(at_end - expected) < 0.01


@pytest.mark.parametrize("mode", [BorderMode.MIRROR, BorderMode.WRAP, BorderMode.BLACK, BorderMode.SMEAR])
def test_padded_modes_overhang_by_at_most_min_border_size(mode: BorderMode) -> None:
    params = _draw(mode, count=5000)
    off, size = params.offsets.double(), params.sizes.double()
    reach = size.clamp(max=0.25)
    assert bool((off >= -reach - 1e-6).all())
    assert bool((off + size <= 1 + reach + 1e-6).all())
    assert float((off < 0).all(dim=1).double().mean()) > 0.05  # both axes overhang sometimes
    centre_mean = params.centers.double().mean(dim=0)
    assert torch.allclose(centre_mean, torch.full((2,), 0.5, dtype=torch.float64), atol=0.01)


def test_non_square_image_gives_square_pixel_crops() -> None:
    params = _draw(BorderMode.CLAMP, count=100, hw=(200, 400))
    assert torch.allclose(params.sizes[:, 0] * 400, params.sizes[:, 1] * 200)
    assert float(params.sizes[:, 1].max()) <= 1 + 1e-6


def test_same_seed_same_cutouts() -> None:
    a, b = _draw(BorderMode.WRAP, count=10, seed=3), _draw(BorderMode.WRAP, count=10, seed=3)
    assert torch.equal(a.offsets, b.offsets) and torch.equal(a.sizes, b.sizes)


def test_border_mode_accepts_pytti_spellings_and_rejects_others() -> None:
    assert CutoutSettings(border_mode="Mirror").border_mode is BorderMode.MIRROR  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="border_mode: unknown value 'reflect'"):
        CutoutSettings(border_mode="reflect")  # type: ignore[arg-type]


def test_cutouts_use_the_settings_border_mode_enum() -> None:
    """One vocabulary: the mode the settings parse is the one the cutouts compare against."""
    settings = Settings(border_mode="Wrap")
    assert CutoutSettings(border_mode=settings.border_mode).border_mode is BorderMode.WRAP


@pytest.mark.parametrize(
    ("mode", "torch_mode"),
    [(BorderMode.MIRROR, "reflect"), (BorderMode.WRAP, "circular"), (BorderMode.SMEAR, "replicate")],
)
def test_pad_image_matches_torch_pad_for_small_pads(mode: BorderMode, torch_mode: str) -> None:
    image = torch.rand(1, 3, 7, 9)
    assert torch.equal(pad_image(image, 4, 3, mode), F.pad(image, (4, 4, 3, 3), mode=torch_mode))


def test_pad_image_handles_pads_larger_than_the_image() -> None:
    image = torch.rand(1, 1, 3, 4)
    wrapped = pad_image(image, 9, 7, BorderMode.WRAP)
    assert torch.equal(wrapped[..., 7:10, 1:5], image)  # rows -7..-5 and cols -8..-5 are one period back
    mirrored = pad_image(image, 9, 7, BorderMode.MIRROR)
    rows = [mirrored[..., 7 + r, 9:13] for r in (-5, -1, 3, 4, 6)]  # reflect: ... 1 0 1 2 1 0 1 2 1 0 ...
    for row, source in zip(rows, (1, 1, 1, 0, 2)):
        assert torch.equal(row, image[..., source, :])


def _reference_cutouts(image: torch.Tensor, params: CutoutParams, size: int, mode: BorderMode, pad: int):
    """Naive loop: pad, slice each integer crop, area-average it to ``size`` (pytti's per-cutout path)."""
    padded = pad_image(image, pad, pad, mode) if mode is not BorderMode.CLAMP else image
    shift = pad if mode is not BorderMode.CLAMP else 0
    _, _, h, w = image.shape
    crops = []
    for (ox, oy), (sx, sy) in zip(params.offsets.tolist(), params.sizes.tolist()):
        x0, y0 = round(ox * w) + shift, round(oy * h) + shift
        crop = padded[..., y0 : y0 + round(sy * h), x0 : x0 + round(sx * w)]
        crops.append(F.adaptive_avg_pool2d(crop, size))
    return torch.cat(crops)


@pytest.mark.parametrize("mode", list(BorderMode))
def test_batched_cutouts_equal_per_cutout_reference(mode: BorderMode) -> None:
    image = torch.rand(1, 3, 24, 24, dtype=torch.float64)
    # integer pixel boxes whose sides are multiples of the output size, some overhanging the edge
    # (-6, -6, 8) and (22, 22, 8) overhang by the whole border (0.25 · 24 = 6 px) on both axes
    boxes = [(0, 0, 24), (8, 4, 16), (12, 12, 12), (-4, -6, 8), (20, -2, 8), (6, 18, 12), (-6, -6, 8), (22, 22, 8)]
    if mode is BorderMode.CLAMP:
        boxes = [(max(x, 0), max(y, 0), s) for x, y, s in boxes if x >= 0 and y >= 0 and x + s <= 24 and y + s <= 24]
    offsets = torch.tensor([[x / 24, y / 24] for x, y, _ in boxes], dtype=torch.float64)
    sizes = torch.tensor([[s / 24, s / 24] for *_, s in boxes], dtype=torch.float64)
    params = CutoutParams(offsets, sizes, border=0.25)
    batched = apply_cutouts(image, params, 4, mode)
    reference = _reference_cutouts(image, params, 4, mode, pad=math.ceil(0.25 * 24) + 1)
    assert torch.allclose(batched, reference, atol=1e-12)


def test_gradients_reach_the_image() -> None:
    image = torch.rand(1, 3, 10, 10, dtype=torch.float64, requires_grad=True)
    g = torch.Generator().manual_seed(1)
    params = sample_cutouts(
        g, 3, cut_pow=1.0, cutout_border=0.2, border_mode="mirror", device=CPU, image_hw=(10, 10), cut_size=4
    )
    assert torch.autograd.gradcheck(lambda x: apply_cutouts(x, params, 4, "mirror"), (image,))


def test_chunk_splits_into_micro_batches() -> None:
    params = _draw(BorderMode.CLAMP, count=12)
    parts = params.chunk(3)
    assert [len(p) for p in parts] == [4, 4, 4]
    assert torch.equal(torch.cat([p.offsets for p in parts]), params.offsets)


def test_unknown_border_mode_lists_the_choices() -> None:
    with pytest.raises(SettingsError, match=r"use one of clamp, mirror, wrap, black, smear$"):
        CutoutSettings(border_mode="reflect")  # type: ignore[arg-type]


def test_cutout_count_must_be_a_positive_multiple_of_the_accumulation_steps() -> None:
    assert CutoutSettings(cutouts=1).per_batch == 1
    assert CutoutSettings(cutouts=8, gradient_accumulation_steps=4).per_batch == 2
    with pytest.raises(SettingsError, match=r"^cutouts \(0\) must be a positive multiple of "
                                            r"gradient_accumulation_steps \(1\)$"):
        CutoutSettings(cutouts=0)
    for cutouts, steps in ((-4, 2), (4, 0), (4, -2), (6, 4)):
        with pytest.raises(SettingsError, match=rf"cutouts \({cutouts}\) .* \({steps}\)"):
            CutoutSettings(cutouts=cutouts, gradient_accumulation_steps=steps)


def test_chunk_keeps_sizes_and_border() -> None:
    params = _draw(BorderMode.MIRROR, count=6)
    parts = params.chunk(2)
    assert [p.border for p in parts] == [0.25, 0.25]
    assert torch.equal(parts[1].sizes, params.sizes[3:]) and torch.equal(parts[1].offsets, params.offsets[3:])


@pytest.mark.parametrize(("given", "used"), [(1.5, 1.0), (-0.5, 0.0), (0.4, 0.4)])
def test_cutout_border_is_clamped_to_the_unit_interval(given: float, used: float) -> None:
    g = torch.Generator().manual_seed(0)
    params = sample_cutouts(g, 4, cut_pow=1.0, cutout_border=given, border_mode="wrap", device=CPU,
                            image_hw=(32, 32), cut_size=8)
    assert params.border == used


def test_mirror_padding_of_one_and_two_pixel_axes() -> None:
    one = torch.arange(3.0).reshape(1, 1, 1, 3)  # one row: mirroring repeats it
    padded = pad_image(one, 0, 2, BorderMode.MIRROR)
    assert torch.equal(padded, one.expand(1, 1, 5, 3))
    two = torch.tensor([[[[10.0, 20.0]]]])  # columns a b: reflect gives ... b a b | a b | a b a ...
    assert pad_image(two, 3, 0, BorderMode.MIRROR).flatten().tolist() == [20, 10, 20, 10, 20, 10, 20, 10]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_cutouts_follow_the_image_dtype_whatever_the_params_dtype(dtype: torch.dtype) -> None:
    image = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    boxes = [(0, 0, 8), (-4, 4, 8), (8, 12, 8)]  # pixel boxes; sides twice the output size
    offsets = torch.tensor([[x / 16, y / 16] for x, y, _ in boxes], dtype=torch.float64)
    sizes = torch.tensor([[s / 16, s / 16] for *_, s in boxes], dtype=torch.float64)
    params = CutoutParams(offsets, sizes, border=0.25)
    out = apply_cutouts(image.to(dtype), params, 4, BorderMode.WRAP)
    assert out.dtype is dtype
    reference = _reference_cutouts(image.to(dtype).double(), params, 4, BorderMode.WRAP, pad=math.ceil(0.25 * 16) + 1)
    assert torch.allclose(out.double(), reference, atol=2e-3)


def _roi_align_reference(image: torch.Tensor, start: torch.Tensor, end: torch.Tensor, size: int) -> torch.Tensor:
    boxes = torch.cat([torch.zeros(len(start), 1, dtype=start.dtype), start, end], dim=1)
    return roi_align(image, boxes, size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)


def _awkward_boxes() -> tuple[torch.Tensor, torch.Tensor]:
    """Fractional boxes: shrinking by 1–3 samples per axis, enlarging, non-square, past every edge, one
    pixel wide, and wholly past the last pixel centre."""
    start = torch.tensor(
        [[0.0, 0.0], [3.3, 7.9], [-1.7, -0.6], [20.2, 25.5], [0.4, 12.0], [-3.0, 5.0], [31.0, 1.0], [5.0, 5.0]],
        dtype=torch.float64,
    )
    extent = torch.tensor(
        [[32.0, 40.0], [17.6, 6.1], [9.0, 9.0], [12.5, 14.9], [2.5, 1.0], [37.0, 4.0], [1.5, 3.0], [1.0, 1.0]],
        dtype=torch.float64,
    )
    return start, start + extent


@pytest.mark.parametrize("cut", [_separable_cutouts, _roi_align_cutouts])  # the CPU's path, the others'
@pytest.mark.parametrize("size", [1, 7, 8])
def test_both_cutout_paths_take_exactly_the_samples_roi_align_takes(cut, size: int) -> None:
    image = torch.rand(1, 3, 40, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    start, end = _awkward_boxes()
    expected = _roi_align_reference(image, start, end, size)
    value = cut(image, start, end, size)
    assert value.shape == expected.shape == (8, 3, size, size)
    assert torch.allclose(value, expected, atol=1e-12)
    _, expected_grad = value_and_input_gradient(lambda x: _roi_align_reference(x, start, end, size), image)
    _, grad = value_and_input_gradient(lambda x: cut(x, start, end, size), image)
    assert torch.allclose(grad, expected_grad, atol=1e-12)


def test_apply_cutouts_on_the_cpu_equals_roi_align_on_a_padded_image() -> None:
    image = torch.rand(1, 3, 30, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    params = sample_cutouts(
        torch.Generator().manual_seed(4), 12, cut_pow=1.0, cutout_border=0.3, border_mode="wrap", device=CPU,
        image_hw=(30, 20), cut_size=6,
    )
    pad_x, pad_y = math.ceil(0.3 * 20) + 1, math.ceil(0.3 * 30) + 1
    shift = torch.tensor([pad_x, pad_y], dtype=torch.float64)
    start = params.offsets * torch.tensor([20.0, 30.0], dtype=torch.float64) + shift
    end = start + params.sizes * torch.tensor([20.0, 30.0], dtype=torch.float64)
    expected = _roi_align_reference(pad_image(image, pad_x, pad_y, BorderMode.WRAP), start, end, 6)
    assert torch.allclose(apply_cutouts(image, params, 6, "wrap"), expected, atol=1e-12)


def test_the_cpu_never_calls_roi_align(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a CPU roi_align's backward is the slow part of a step: the matrix path replaces it there."""

    def refuse(*args, **kwargs):
        raise AssertionError("roi_align called on the CPU")

    monkeypatch.setattr(cutouts_module, "roi_align", refuse)
    params = CutoutParams(torch.tensor([[0.1, 0.2]]), torch.tensor([[0.5, 0.5]]), border=0.0)
    assert apply_cutouts(torch.rand(1, 3, 16, 16), params, 4, "clamp").shape == (1, 3, 4, 4)
