"""Every registered VQGAN builds with exactly the parameter names and shapes of the original checkpoints.

The expected layout is generated here independently from the description in image-models.md §6.4–6.5,
and the totals are the counts measured on taming's own modules (§6.3). Networks are built on ``meta``.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dreamloom.errors import SettingsError
from dreamloom.images.vqgan import VQGAN, get_spec, list_models
from dreamloom.models.entries import Family
from dreamloom.models.registry import get_entry

# Parameter counts of taming's first stages (image-models.md §6.3), and tensor counts.
EXPECTED_PARAMETERS = {
    "imagenet": 76_073_859,
    "imagenet_1024": 72_141_699,
    "coco": 73_976_707,
    "wikiart": 76_073_859,
    "sflckr": 72_141_699,
    "openimages": 68_995_971,
}
EXPECTED_TENSORS = {"openimages": 301}
F16_TENSORS = 343


def _conv(prefix: str, out_ch: int, in_ch: int, k: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (out_ch, in_ch, k, k), f"{prefix}.bias": (out_ch,)}


def _norm(prefix: str, ch: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (ch,), f"{prefix}.bias": (ch,)}


def _resnet(prefix: str, in_ch: int, out_ch: int) -> dict[str, tuple[int, ...]]:
    keys = {**_norm(f"{prefix}.norm1", in_ch), **_conv(f"{prefix}.conv1", out_ch, in_ch, 3)}
    keys |= {**_norm(f"{prefix}.norm2", out_ch), **_conv(f"{prefix}.conv2", out_ch, out_ch, 3)}
    if in_ch != out_ch:
        keys |= _conv(f"{prefix}.nin_shortcut", out_ch, in_ch, 1)
    return keys


def _attn(prefix: str, ch: int) -> dict[str, tuple[int, ...]]:
    keys = _norm(f"{prefix}.norm", ch)
    for name in ("q", "k", "v", "proj_out"):
        keys |= _conv(f"{prefix}.{name}", ch, ch, 1)
    return keys


def taming_layout(ch_mult: tuple[int, ...], n_embed: int, gumbel: bool) -> dict[str, tuple[int, ...]]:
    """The §6.5 key list of a ch=128, z=256, embed 256 first stage with attention at the lowest level."""
    widths = [128 * m for m in ch_mult]
    last = len(ch_mult) - 1
    keys = _conv("encoder.conv_in", 128, 3, 3)
    previous = 128
    for i, width in enumerate(widths):
        for b in range(2):
            keys |= _resnet(f"encoder.down.{i}.block.{b}", previous if b == 0 else width, width)
            if i == last:
                keys |= _attn(f"encoder.down.{i}.attn.{b}", width)
        if i != last:
            keys |= _conv(f"encoder.down.{i}.downsample.conv", width, width, 3)
        previous = width
    for side in ("encoder", "decoder"):
        keys |= _resnet(f"{side}.mid.block_1", 512, 512) | _attn(f"{side}.mid.attn_1", 512)
        keys |= _resnet(f"{side}.mid.block_2", 512, 512)
    keys |= _norm("encoder.norm_out", 512) | _conv("encoder.conv_out", 256, 512, 3)
    keys |= _conv("decoder.conv_in", 512, 256, 3)
    previous = 512
    for i in reversed(range(len(widths))):
        for b in range(3):
            keys |= _resnet(f"decoder.up.{i}.block.{b}", previous if b == 0 else widths[i], widths[i])
            if i == last:
                keys |= _attn(f"decoder.up.{i}.attn.{b}", widths[i])
        if i != 0:
            keys |= _conv(f"decoder.up.{i}.upsample.conv", widths[i], widths[i], 3)
        previous = widths[i]
    keys |= _norm("decoder.norm_out", 128) | _conv("decoder.conv_out", 3, 128, 3)
    keys |= _conv("quant_conv", 256, 256, 1) | _conv("post_quant_conv", 256, 256, 1)
    if gumbel:
        keys |= _conv("quantize.proj", n_embed, 256, 1) | {"quantize.embed.weight": (n_embed, 256)}
    else:
        keys |= {"quantize.embedding.weight": (n_embed, 256)}
    return keys


def _meta_layout(name: str) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        network = VQGAN(get_spec(name))
    return {key: tuple(value.shape) for key, value in network.state_dict().items()}


def test_registry_lists_the_six_models() -> None:
    assert list_models() == ["imagenet", "imagenet_1024", "coco", "wikiart", "sflckr", "openimages"]


@pytest.mark.parametrize("name", list_models())
def test_layout_matches_taming_checkpoint(name: str) -> None:
    spec = get_spec(name)
    layout = _meta_layout(name)
    assert layout == taming_layout(spec.ch_mult, spec.n_embed, spec.gumbel)
    assert sum(torch.Size(shape).numel() for shape in layout.values()) == EXPECTED_PARAMETERS[name]
    assert len(layout) == EXPECTED_TENSORS.get(name, F16_TENSORS)


@pytest.mark.parametrize(
    ("key", "shape"),
    [
        ("encoder.conv_in.weight", (128, 3, 3, 3)),
        ("encoder.conv_out.weight", (256, 512, 3, 3)),
        ("decoder.conv_in.weight", (512, 256, 3, 3)),
        ("decoder.conv_out.weight", (3, 128, 3, 3)),
        ("decoder.norm_out.weight", (128,)),
        ("quant_conv.weight", (256, 256, 1, 1)),
        ("post_quant_conv.weight", (256, 256, 1, 1)),
        ("encoder.down.2.block.0.nin_shortcut.weight", (256, 128, 1, 1)),
        ("encoder.down.4.block.0.nin_shortcut.weight", (512, 256, 1, 1)),
        ("decoder.up.3.block.0.nin_shortcut.weight", (256, 512, 1, 1)),
        ("decoder.up.1.block.0.nin_shortcut.weight", (128, 256, 1, 1)),
        ("encoder.down.4.attn.1.proj_out.weight", (512, 512, 1, 1)),
        ("decoder.up.4.attn.2.q.weight", (512, 512, 1, 1)),
        ("quantize.embedding.weight", (16384, 256)),
    ],
)
def test_known_imagenet_shapes(key: str, shape: tuple[int, ...]) -> None:
    assert _meta_layout("imagenet")[key] == shape


def test_layout_boundaries_of_f16_and_gumbel_f8() -> None:
    imagenet, openimages = _meta_layout("imagenet"), _meta_layout("openimages")
    assert "encoder.down.4.downsample.conv.weight" not in imagenet
    assert "decoder.up.0.upsample.conv.weight" not in imagenet
    assert not any(".attn." in key for key in imagenet if ".down.3." in key or ".up.3." in key)
    assert openimages["quantize.proj.weight"] == (8192, 256, 1, 1)
    assert openimages["quantize.embed.weight"] == (8192, 256)
    assert openimages["decoder.up.2.block.0.nin_shortcut.weight"] == (256, 512, 1, 1)
    assert "encoder.down.3.attn.1.q.weight" in openimages
    assert "quantize.embedding.weight" not in openimages


def test_downsample_factors() -> None:
    assert {name: get_spec(name).downsample_factor for name in list_models()} == {
        "imagenet": 16,
        "imagenet_1024": 16,
        "coco": 16,
        "wikiart": 16,
        "sflckr": 16,
        "openimages": 8,
    }


def test_get_spec_accepts_pytti_aliases_and_returns_copies() -> None:
    assert get_spec("sflickr").name == "sflckr"
    assert get_spec(" Imagenet ").name == "imagenet"
    assert get_spec("sflckr").state_dict_prefix == "first_stage_model."
    first, second = get_spec("coco"), get_spec("coco")
    assert first == second and first is not second
    assert dataclasses.replace(first, n_embed=3).n_embed == 3 and get_spec("coco").n_embed == 8192


def test_unknown_model_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="vqgan_model.*faceshq.*imagenet"):
        get_spec("faceshq")


@pytest.mark.parametrize("name", list_models())
def test_every_model_has_a_registered_checkpoint(name: str) -> None:
    spec = get_spec(name)
    assert spec.weights is not None
    entry = get_entry(spec.weights)
    assert entry.family is Family.VQGAN
    assert entry.files[0].filename == f"vqgan/{spec.name}.ckpt"
