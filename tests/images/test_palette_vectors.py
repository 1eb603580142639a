"""Test vector T5 of image-models.md §10: pytti's PixelImage(3, 2, 2, P=4, N=3) on a hand-set state."""

import pytest
import torch

from dreamloom.images.palette import LimitedPaletteImage

PALETTE = [
    [(0, 0, 0), (0.2, 0, 0), (0, 0, 0.4)],
    [(1.8, 0.2, 0.2), (0.6, 0.6, 0.6), (0, 0.4, 0)],
    [(0.4, 0.8, 1.2), (2, 2, 2), (1, 1, 0)],
    [(2, 2, 2), (1.2, 0, 1.6), (2.4, 2, -0.3)],
]
VALUE = [[0, 0.25, 0.5], [0.7, 1.0, 1.3]]
LOGITS = [
    [[1, 0, 0.2], [0, 0.5, 0.1]],
    [[0, 2, 0.2], [0.3, 0.5, 0]],
    [[0.5, 0, 0.25], [0, 0.4, 3]],
]
SORTED = [
    [(0, 0, 0), (0.1, 0, 0), (0, 0, 0.2)],
    [(0.2, 0.4, 0.6), (0.3, 0.3, 0.3), (0, 0.2, 0)],
    [(0.9, 0.1, 0.1), (0.6, 0, 0.8), (0.5, 0.5, 0)],
    [(1, 1, 1), (1, 1, 1), (1, 1, 0)],
]
LOW_RES_COLOURS = [
    [(0, 0, 0), (0.3, 0.3, 0.3), (0.5, 0.5, 0)],
    [(0.6, 0, 0.8), (1, 1, 1), (1, 1, 0)],
]
VALUE_GRAD = [[0, 4.544383, 2.440328], [9.062664, 0, 0]]
LOGITS_GRAD = [
    [[-0.081109, 0.049409, 0.124207], [-0.031094, 0.214465, 0.090157]],
    [[0.007426, 0.050292, 0.124207], [0.175626, 0.214465, 0.081578]],
    [[0.073683, -0.099701, -0.248414], [-0.144532, -0.428931, -0.171735]],
]
PALETTE_GRAD_PER_ENTRY = [
    [1.533107, 0.383070, 0.333823],
    [0.432534, 1.754106, 0.252148],
    [0.243746, 0.429613, 1.440936],
    [1.423909, 1.526530, 0.0],
]


def assert_close(actual: torch.Tensor, expected: object) -> None:
    torch.testing.assert_close(actual.detach(), torch.tensor(expected, dtype=torch.float32), atol=1e-5, rtol=0)


@pytest.fixture
def image() -> LimitedPaletteImage:
    model = LimitedPaletteImage(3, 2, 2, palette_size=4, palettes=3, gamma=1, hdr_weight=0.5,
                                palette_normalization_weight=0.1)
    with torch.no_grad():
        model.pallet.copy_(torch.tensor(PALETTE))
        model.value.copy_(torch.tensor(VALUE))
        model.tensor.copy_(torch.tensor(LOGITS))
    return model


def test_initial_palette_is_grey_ramp() -> None:
    model = LimitedPaletteImage(3, 2, 2, palette_size=4, palettes=3, gamma=1, hdr_weight=0.5,
                                palette_normalization_weight=0.1)
    ramp = torch.tensor([0, 2 / 3, 4 / 3, 2])
    assert_close(model.pallet, ramp[:, None, None].expand(4, 3, 3).tolist())


def test_sorted_palette_readout(image: LimitedPaletteImage) -> None:
    assert_close(image.display_palette(), SORTED)


def test_decoded_colours(image: LimitedPaletteImage) -> None:
    decoded = image.decode_training()
    assert decoded.shape == (1, 3, 4, 6)
    expected = torch.tensor(LOW_RES_COLOURS).permute(2, 0, 1)
    expected = expected.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)[None]
    assert_close(decoded, expected.tolist())


def test_regulariser_values(image: LimitedPaletteImage) -> None:
    terms = image.regularizers()
    assert set(terms) == {"hdr", "palette_normalization"}
    assert_close(terms["hdr"], 0.00716386)
    assert_close(terms["palette_normalization"], 0.04925813)
    assert_close(image.hdr_loss.raw(image.display_palette()), 0.01432771)


def test_gradients_of_decoded_sum(image: LimitedPaletteImage) -> None:
    image.decode_training().sum().backward()
    assert_close(image.value.grad, VALUE_GRAD)
    assert_close(image.tensor.grad, LOGITS_GRAD)
    expected = torch.tensor(PALETTE_GRAD_PER_ENTRY)[..., None].expand(4, 3, 3).clone()
    expected[3, 2] = torch.tensor([0.0, 2.246478, 0.0])
    assert_close(image.pallet.grad, expected.tolist())


def test_palette_swatch_size(image: LimitedPaletteImage) -> None:
    swatch = image.palette_swatch()
    assert swatch.size == (48, 128)
    assert swatch.getpixel((16 + 3, 32 * 2 + 5)) == (153, 0, 204)
