"""Behaviour of the Limited Palette model beyond the §10 vectors: shapes, projection, locking, encoding."""

import numpy as np
import pytest
import torch
from PIL import Image

from dreamloom.errors import SettingsError
from dreamloom.images.palette import LimitedPaletteImage


def random_model(seed: int = 0, **options: object) -> LimitedPaletteImage:
    model = LimitedPaletteImage(6, 4, **options)
    model.encode_random(torch.Generator().manual_seed(seed))
    return model


def distinct_colours(decoded: torch.Tensor) -> set[tuple[float, ...]]:
    return {tuple(c) for c in decoded[0].reshape(3, -1).T.tolist()}


def test_defaults_follow_pytti() -> None:
    model = LimitedPaletteImage(6, 4)
    assert model.default_lr == 0.02
    assert model.latent_strength == 0.1
    assert model.pallet.shape == (5, 20, 3)
    assert float(model.hdr_loss.weight) == pytest.approx(0.01)
    assert float(model.loss.weight) == pytest.approx(0.2)


def test_shapes_and_nearest_upscaling() -> None:
    model = random_model(pixel_size=3, palette_size=4, palettes=2)
    decoded = model.decode_training()
    assert model.output_size == (12, 18)
    assert decoded.shape == (1, 3, 12, 18)
    blocks = decoded[0].unfold(1, 3, 3).unfold(2, 3, 3)
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))
    assert model.get_image_tensor().shape == (3, 4, 6)


def test_gamma_ramp_exceeds_two_until_projection() -> None:
    model = LimitedPaletteImage(2, 2, palette_size=5, palettes=1, gamma=2.5)
    expected = torch.tensor([0, 0.1768, 1, 2.7557, 5.6569])
    torch.testing.assert_close(model.pallet[:, 0, 0].detach(), expected, atol=1e-4, rtol=0)
    model.after_step()
    assert float(model.pallet.detach().max()) == 2.0


def test_decoded_image_uses_at_most_palettes_times_size_colours() -> None:
    model = LimitedPaletteImage(40, 30, palette_size=3, palettes=2, random_initial_palette=True)
    model.encode_random(torch.Generator().manual_seed(3))
    colours = distinct_colours(model.decode())
    palette = {tuple(c) for c in model.display_palette().reshape(-1, 3).tolist()}
    assert len(colours) <= 6
    assert colours <= palette


def test_encode_random_is_reproducible_and_in_range() -> None:
    first, second = random_model(seed=5, random_initial_palette=True), random_model(seed=5,
                                                                                    random_initial_palette=True)
    for name, high in (("value", 1), ("tensor", 1), ("pallet", 2)):
        a, b = first.get_parameter(name).detach(), second.get_parameter(name).detach()
        assert torch.equal(a, b)
        assert 0 <= float(a.min()) and float(a.max()) < high
    assert not torch.equal(random_model(seed=6).value, first.value)


def test_grey_palette_kept_without_random_initial_palette() -> None:
    model = random_model(palette_size=3, palettes=2)
    torch.testing.assert_close(model.pallet[:, 1, 2].detach(), torch.tensor([0.0, 1.0, 2.0]))


def test_after_step_projects_parameters() -> None:
    model = random_model(palette_size=3, palettes=2)
    with torch.no_grad():
        model.pallet.add_(torch.linspace(-3, 3, 18).reshape(3, 2, 3))
        model.value.sub_(2).mul_(-1)
        model.tensor.sub_(0.5)
    model.after_step()
    pallet, value, logits = model.pallet.detach(), model.value.detach(), model.tensor.detach()
    assert 0 <= float(pallet.min()) and float(pallet.max()) <= 2
    assert 0 <= float(value.min()) and float(value.max()) <= 1
    assert float(logits.min()) == 0


def test_image_tensor_round_trip() -> None:
    model = random_model(palettes=3)
    grid = model.get_image_tensor().detach() * 0.5
    model.set_image_tensor(grid)
    torch.testing.assert_close(model.get_image_tensor().detach(), grid)


def test_lock_freezes_palette_and_stops_its_gradient() -> None:
    model = random_model(palette_size=3, palettes=2, random_initial_palette=True)
    before = model.display_palette().detach().clone()
    model.lock_palette()
    with torch.no_grad():
        model.pallet.zero_()
    loss = model.decode_training().sum() + sum(model.regularizers().values())
    loss.backward()
    assert model.palette_locked
    assert torch.equal(model.display_palette(), before)
    assert model.pallet.grad is None or not model.pallet.grad.any()
    model.lock_palette(False)
    assert not model.palette_locked
    assert not torch.equal(model.display_palette(), before)


def test_zero_weights_drop_regularisers() -> None:
    model = LimitedPaletteImage(4, 4, hdr_weight=0, palette_normalization_weight=0)
    assert model.hdr_loss is None
    assert model.regularizers() == {}


def test_single_palette_skips_normalisation() -> None:
    model = LimitedPaletteImage(4, 4, palettes=1)
    model.encode_random(torch.Generator().manual_seed(0))
    assert set(model.regularizers()) == {"hdr"}


def _plain_hdr(raw: list[list[list[float]]], weight: float) -> float:
    """weight · mean over palettes and sorted entries of (HSP brightness − k/(P−1))², written out (§5.6)."""
    entries, palettes = len(raw), len(raw[0])
    total = 0.0
    for j in range(palettes):
        colours = [[min(max(c / 2, 0.0), 1.0) for c in raw[k][j]] for k in range(entries)]
        levels = sorted((0.299 * r * r + 0.587 * g * g + 0.114 * b * b) ** 0.5 for r, g, b in colours)
        total += sum((level - k / (entries - 1)) ** 2 for k, level in enumerate(levels))
    return weight * total / (entries * palettes)


def test_hdr_gradient_matches_finite_differences_and_is_zero_at_black_entries() -> None:
    model = LimitedPaletteImage(2, 2, palette_size=3, palettes=2, hdr_weight=0.01, dtype=torch.float64)
    raw = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
           [[0.6, 0.8, 1.0], [1.0, 0.2, 0.4]],
           [[1.6, 1.2, 1.9], [1.9, 1.8, 1.5]]]
    with torch.no_grad():
        model.pallet.copy_(torch.tensor(raw, dtype=torch.float64))
    loss = model.regularizers()["hdr"]
    assert float(loss.detach()) == pytest.approx(_plain_hdr(raw, 0.01), rel=1e-12)
    loss.backward()
    grad = model.pallet.grad
    assert torch.equal(grad[0], torch.zeros(2, 3, dtype=torch.float64))  # black: zero, not NaN
    h = 1e-6
    for k in (1, 2):
        for j in range(2):
            for c in range(3):
                up = [[list(col) for col in entry] for entry in raw]
                down = [[list(col) for col in entry] for entry in raw]
                up[k][j][c] += h
                down[k][j][c] -= h
                numeric = (_plain_hdr(up, 0.01) - _plain_hdr(down, 0.01)) / (2 * h)
                assert float(grad[k, j, c]) == pytest.approx(numeric, rel=1e-5, abs=1e-10), (k, j, c)


def test_backup_keys_and_pytti_backup_without_lock_flag() -> None:
    model = random_model(palette_size=3, palettes=2)
    model.lock_palette()
    state = model.state_dict()
    assert list(state) == ["pallet", "value", "tensor", "pallet_target", "pallet_locked",
                           "hdr_loss.comp", "hdr_loss.weight", "loss.weight"]
    restored = LimitedPaletteImage(6, 4, palette_size=3, palettes=2)
    restored.load_state_dict(state)
    assert restored.palette_locked
    assert torch.equal(restored.decode(), model.decode())
    pytti_state = {k: v for k, v in state.items() if k != "pallet_locked"}
    LimitedPaletteImage(6, 4, palette_size=3, palettes=2).load_state_dict(pytti_state)
    restored.load_state_dict(random_model(palette_size=3, palettes=2).state_dict())
    assert not restored.palette_locked


def test_encode_without_smart_encode_sets_hsp_brightness() -> None:
    model = LimitedPaletteImage(2, 1, palette_size=3, palettes=1)
    model.encode_image(Image.fromarray(np.array([[[255, 0, 0], [51, 102, 204]]], dtype=np.uint8)),
                       smart_encode=False)
    expected = [0.299**0.5, (0.299 * 0.2**2 + 0.587 * 0.4**2 + 0.114 * 0.8**2) ** 0.5]
    torch.testing.assert_close(model.value.detach(), torch.tensor([expected]), atol=1e-5, rtol=0)


def close_fraction(model: LimitedPaletteImage, picture: Image.Image) -> float:
    """Share of output pixels within 0.05 (RGB distance) of the picture's colour."""
    decoded = model.decode()[0].permute(1, 2, 0)
    target = torch.from_numpy(np.asarray(picture) / 255).float()
    return float(((decoded - target).norm(dim=-1) < 0.05).float().mean())


def test_encode_then_decode_four_colour_picture(four_colour_picture: Image.Image) -> None:
    model = LimitedPaletteImage(8, 8, palette_size=5, palettes=3, gamma=1.5)
    model.encode_random(torch.Generator().manual_seed(0))
    model.encode_image(four_colour_picture)
    assert close_fraction(model, four_colour_picture) >= 0.9
    assert float(model.hdr_loss.comp[1, 0]) == pytest.approx(0.25**1.5)


def test_target_palette_fits_the_four_colours(four_colour_picture: Image.Image,
                                              four_colours: torch.Tensor) -> None:
    model = LimitedPaletteImage(8, 8, palette_size=4, palettes=4)
    model.encode_random(torch.Generator().manual_seed(1))
    grid_before = model.get_image_tensor().detach().clone()
    model.fit_palette(four_colour_picture)
    assert model.palette_locked
    assert torch.equal(model.get_image_tensor(), grid_before)
    palette = model.display_palette().reshape(-1, 3)
    assert float(torch.cdist(four_colours, palette).min(dim=1).values.max()) < 0.05
    torch.testing.assert_close(model.pallet.detach() / 2, model.display_palette())

    locked = model.display_palette().clone()
    model.encode_image(four_colour_picture)
    assert torch.equal(model.display_palette(), locked)
    assert close_fraction(model, four_colour_picture) >= 0.9


@pytest.mark.parametrize("setting", ["width", "pixel_size", "palette_size", "palettes"])
def test_non_positive_sizes_are_settings_errors(setting: str) -> None:
    sizes = {"width": 4, "height": 4, "pixel_size": 1, "palette_size": 3, "palettes": 2} | {setting: 0}
    with pytest.raises(SettingsError, match=setting):
        LimitedPaletteImage(**sizes)


def test_zero_height_is_a_settings_error_too() -> None:
    with pytest.raises(SettingsError, match="^height must be a positive integer for the Limited Palette model, got 0$"):
        LimitedPaletteImage(4, 0)


def test_float64_model_keeps_every_tensor_in_float64() -> None:
    model = LimitedPaletteImage(3, 2, palette_size=3, palettes=2, gamma=1.5, dtype=torch.float64)
    assert model.gamma == 1.5
    tensors = dict(model.named_parameters()) | dict(model.named_buffers())
    assert {name: t.dtype for name, t in tensors.items() if name != "pallet_locked"} == {
        name: torch.float64 for name in tensors if name != "pallet_locked"}
    # the grey ramp (2k/(P-1))^gamma and the HDR target (k/(P-1))^gamma, exactly in float64
    assert model.pallet[:, 0, 0].tolist() == [0.0, 1.0, 2.0**1.5]
    assert model.hdr_loss.comp[:, 1].tolist() == [0.0, 0.5**1.5, 1.0]


def test_a_new_model_is_unlocked() -> None:
    model = LimitedPaletteImage(3, 2)
    assert model.palette_locked is False and not bool(model.pallet_locked)


def test_two_palettes_are_normalised() -> None:
    model = random_model(palette_size=3, palettes=2)
    assert set(model.regularizers()) == {"hdr", "palette_normalization"}


def test_hdr_weight_override_replaces_the_model_weight() -> None:
    model = random_model(palette_size=3, palettes=2, hdr_weight=0.3, random_initial_palette=True)
    raw = float(model.hdr_loss.raw(model.display_palette()).detach())
    assert raw > 0
    assert float(model.regularizers()["hdr"].detach()) == pytest.approx(0.3 * raw, rel=1e-6)
    assert float(model.regularizers(hdr_weight=0.01)["hdr"].detach()) == pytest.approx(0.01 * raw, rel=1e-6)


def test_encode_without_smart_encode_resizes_and_keeps_float64() -> None:
    model = LimitedPaletteImage(3, 2, dtype=torch.float64)
    model.encode_image(Image.new("RGB", (12, 8), (200, 100, 50)), smart_encode=False)  # any resize keeps it
    expected = ((0.299 * 200**2 + 0.587 * 100**2 + 0.114 * 50**2) ** 0.5) / 255
    assert torch.allclose(model.value, torch.full((2, 3), expected, dtype=torch.float64), rtol=0, atol=1e-12)


def test_smart_encode_fits_the_picture_at_the_output_size(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LimitedPaletteImage(3, 2, pixel_size=2, dtype=torch.float64)
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3  # already the output size: no resampling
    seen: list[torch.Tensor] = []
    monkeypatch.setattr(model, "_fit_to_picture", seen.append)
    model.encode_image(Image.fromarray(pixels, "RGB"))
    (target,) = seen
    assert target.dtype == torch.float64 and target.shape == (1, 3, 4, 6)
    assert torch.equal(target[0].permute(1, 2, 0), torch.from_numpy(pixels).double() / 255)
    model.encode_image(Image.new("RGB", (12, 8), (200, 100, 50)))  # twice the output size: resized to it
    assert seen[1].shape == (1, 3, 4, 6)
    assert torch.equal(seen[1][0, :, 0, 0], torch.tensor([200, 100, 50], dtype=torch.float64) / 255)


def test_the_fit_uses_pyttis_hdr_weight_not_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LimitedPaletteImage(2, 2, palette_size=2, palettes=2, hdr_weight=5.0)
    weights: list[object] = []
    regularizers = model.regularizers
    monkeypatch.setattr(model, "regularizers", lambda **kw: weights.append(kw.get("hdr_weight")) or regularizers(**kw))
    model._fit_to_picture(torch.zeros(1, 3, 2, 2))
    assert weights == [0.01] * 201


def test_swatch_truncates_to_eight_bits() -> None:
    model = LimitedPaletteImage(2, 2, palette_size=2, palettes=1)
    model.lock_palette()
    with torch.no_grad():
        model.pallet_target.copy_(torch.tensor([[[0.0, 0.5, 0.999]], [[1.0, 0.25, 0.1]]]))
    swatch = np.asarray(model.palette_swatch())
    assert swatch.shape == (64, 16, 3)
    assert swatch[0, 0].tolist() == [0, 127, 254] and swatch[63, 15].tolist() == [255, 63, 25]
