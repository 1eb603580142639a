"""Loading VQGAN weights from checkpoints in the original Lightning layout, through the registry path."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch
from vqgan_tiny import TINY, tiny_network

from dreamloom.errors import WeightsError
from dreamloom.images.vqgan import VQGAN, VQGANImage, load_network, load_vqgan
from dreamloom.images.vqgan import loading as loading_module
from dreamloom.models.entries import Family, ModelEntry, WeightsFile


def _lightning_checkpoint(network: VQGAN, path: Path, prefix: str = "") -> None:
    """Save ``network`` like taming's training does: Lightning bookkeeping, loss weights, extra stages."""
    state = {f"{prefix}{key}": value for key, value in network.state_dict().items()}
    state["loss.discriminator.main.0.weight"] = torch.randn(4, 3, 4, 4)
    state["loss.logvar"] = torch.zeros(())
    if prefix:
        state["cond_stage_model.encoder.conv_in.weight"] = torch.randn(8, 182, 3, 3)
        state["transformer.tok_emb.weight"] = torch.randn(16, 4)
    torch.save(
        {
            "epoch": 12,
            "global_step": 34_000,
            "pytorch-lightning_version": "1.0.8",
            "hyper_parameters": {"embed_dim": 8, "ddconfig": {"ch_mult": [1, 2], "attn_resolutions": [8]}},
            "optimizer_states": [{"state": {}, "param_groups": [{"lr": 4.5e-6}]}],
            "state_dict": state,
        },
        path,
    )


def _same_network(first: VQGAN, second: VQGAN) -> bool:
    pixels = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        return torch.equal(first.decode(first.encode(pixels)), second.decode(second.encode(pixels)))


def test_lightning_checkpoint_loads_and_ignores_loss_weights(tmp_path: Path) -> None:
    source = tiny_network(seed=3)
    _lightning_checkpoint(source, tmp_path / "tiny.ckpt")
    loaded = load_network(TINY, tmp_path / "tiny.ckpt", device=torch.device("cpu"))
    assert _same_network(loaded, source)
    assert not loaded.training
    assert not any(parameter.requires_grad for parameter in loaded.parameters())


def test_prefixed_first_stage_loads(tmp_path: Path) -> None:
    source = tiny_network(seed=4)
    _lightning_checkpoint(source, tmp_path / "transformer.ckpt", prefix="first_stage_model.")
    spec = dataclasses.replace(TINY, state_dict_prefix="first_stage_model.")
    assert _same_network(load_network(spec, tmp_path / "transformer.ckpt", device=torch.device("cpu")), source)


def test_missing_and_misshapen_weights_are_reported(tmp_path: Path) -> None:
    state = tiny_network().state_dict()
    del state["decoder.conv_out.bias"]
    state["quantize.embedding.weight"] = torch.zeros(5, TINY.embed_dim)
    torch.save({"state_dict": state}, tmp_path / "bad.ckpt")
    with pytest.raises(WeightsError, match=r"bad\.ckpt.*missing: decoder\.conv_out\.bias.*wrong shape: quantize"):
        load_network(TINY, tmp_path / "bad.ckpt", device=torch.device("cpu"))


@pytest.fixture
def registered_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, ModelEntry]:
    """A tiny checkpoint installed in a cache folder and registered, with its real sha256, as 'tiny'."""
    cache = tmp_path / "cache"
    (cache / "vqgan").mkdir(parents=True)
    path = cache / "vqgan" / "tiny.ckpt"
    _lightning_checkpoint(tiny_network(seed=5), path)
    data = path.read_bytes()
    entry = ModelEntry(
        name="vqgan-tiny",
        family=Family.VQGAN,
        files=(
            WeightsFile(
                "vqgan/tiny.ckpt",
                ("http://127.0.0.1:9/tiny.ckpt",),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            ),
        ),
        licence="test",
        description="test network",
    )
    spec = dataclasses.replace(TINY, weights="vqgan-tiny")
    monkeypatch.setattr(loading_module, "get_spec", lambda name: spec)
    monkeypatch.setattr(loading_module, "get_entry", lambda name: entry)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache, entry


def test_registry_path_loads_a_verified_checkpoint(registered_tiny: tuple[Path, ModelEntry]) -> None:
    cache, _ = registered_tiny
    loaded = load_vqgan("tiny", cache, device=torch.device("cpu"))
    assert _same_network(loaded, tiny_network(seed=5))


def test_registry_path_refuses_a_tampered_checkpoint(registered_tiny: tuple[Path, ModelEntry]) -> None:
    cache, _ = registered_tiny
    path = cache / "vqgan" / "tiny.ckpt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"tiny\.ckpt is corrupt: its sha256 is"):
        load_vqgan("tiny", cache, device=torch.device("cpu"))


def test_registry_path_refuses_a_truncated_checkpoint(registered_tiny: tuple[Path, ModelEntry]) -> None:
    cache, _ = registered_tiny
    path = cache / "vqgan" / "tiny.ckpt"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match=r"tiny\.ckpt is corrupt: its size is 1,000 bytes"):
        load_vqgan("tiny", cache, device=torch.device("cpu"))


def test_missing_real_checkpoint_offline_names_file_urls_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = str((tmp_path / "vqgan" / "sflckr.ckpt").absolute())
    with pytest.raises(WeightsError) as raised:
        load_vqgan("sflickr", tmp_path, device=torch.device("cpu"))
    message = str(raised.value)
    assert "'vqgan-sflckr'" in message and "HF_HUB_OFFLINE" in message
    assert expected in message
    assert "https://heibox.uni-heidelberg.de/d/73487ab6e5314cb5adba/" in message
    assert not (tmp_path / "vqgan" / "sflckr.ckpt").exists()


def test_settings_factory_builds_the_image_through_the_registry(registered_tiny: tuple[Path, ModelEntry]) -> None:
    from dreamloom.images.factory import build_image_model
    from dreamloom.settings.loading import load_settings

    cache, _ = registered_tiny
    overrides = ["image_model=VQGAN", "vqgan_model=sflickr", "pixel_size=2", f"models_parent_dir={cache}"]
    image = build_image_model(load_settings(None, overrides), 12, 9, torch.device("cpu"))
    assert isinstance(image, VQGANImage)
    assert image.output_size == (18, 24)
    assert _same_network(image.network, tiny_network(seed=5))
