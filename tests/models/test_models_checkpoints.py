"""Safe checkpoint reading: Lightning layouts load, code-carrying pickles are refused unexecuted."""

from __future__ import annotations

import builtins
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import save_file

from dreamloom.errors import WeightsError
from dreamloom.models.checkpoints import read_state_dict

_LIGHTNING = ("pytorch_lightning", "pytorch_lightning.callbacks", "pytorch_lightning.callbacks.model_checkpoint")


class ModelCheckpoint:
    """Pickled under Lightning's module path, like the callback objects in taming's checkpoints."""

    def __init__(self) -> None:
        self.dirpath = "logs/checkpoints"
        self.best_model_score = torch.tensor(0.25)


def _save_as_lightning(contents: dict[str, object], path: Path) -> None:
    """Save with ``ModelCheckpoint`` importable under Lightning's module path, then forget that module."""
    with pytest.MonkeyPatch.context() as patch:
        modules = [types.ModuleType(name) for name in _LIGHTNING]
        for module in modules:
            patch.setitem(sys.modules, module.__name__, module)
        patch.setattr(ModelCheckpoint, "__module__", _LIGHTNING[-1])
        patch.setattr(modules[-1], "ModelCheckpoint", ModelCheckpoint, raising=False)
        torch.save(contents, path)


def _weights() -> dict[str, torch.Tensor]:
    return {
        "encoder.conv_in.weight": torch.arange(6.0).reshape(2, 3),
        "quantize.embedding.weight": torch.ones(4, 2),
    }


def _lightning_dict() -> dict[str, object]:
    state = {**_weights(), "loss.discriminator.main.0.weight": torch.zeros(2), "loss.logvar": torch.zeros(())}
    return {
        "epoch": 7,
        "global_step": 123_456,
        "pytorch-lightning_version": "1.0.8",
        "callbacks": {ModelCheckpoint: {"best_model_score": torch.tensor(0.5), "monitor": "val/rec_loss"}},
        "hyper_parameters": {"embed_dim": 256, "ddconfig": {"ch_mult": [1, 1, 2, 2, 4], "dropout": 0.0}},
        "hparams": OmegaConf.create({"model": {"base_learning_rate": 4.5e-6, "params": {"n_embed": 16384}}}),
        "best": np.float64(0.1),
        "checkpoint_callback": ModelCheckpoint(),
        "state_dict": state,
    }


def test_lightning_checkpoint_gives_its_tensors(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    _save_as_lightning(_lightning_dict(), path)
    assert "pytorch_lightning" not in sys.modules
    assert b"pytorch_lightning.callbacks.model_checkpoint" in path.read_bytes()
    tensors = read_state_dict(path)
    assert set(tensors) == {*_weights(), "loss.discriminator.main.0.weight", "loss.logvar"}
    assert torch.equal(tensors["encoder.conv_in.weight"], _weights()["encoder.conv_in.weight"])


def test_plain_state_dict_legacy_format_and_safetensors(tmp_path: Path) -> None:
    torch.save(_weights(), tmp_path / "plain.pt")
    torch.save({"state_dict": _weights()}, tmp_path / "legacy.ckpt", _use_new_zipfile_serialization=False)
    save_file(_weights(), str(tmp_path / "weights.safetensors"))
    for name in ("plain.pt", "legacy.ckpt", "weights.safetensors"):
        tensors = read_state_dict(tmp_path / name)
        assert set(tensors) == set(_weights())
        assert torch.equal(tensors["quantize.embedding.weight"], torch.ones(4, 2))


class _OpensAFile:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return builtins.open, (str(self.sentinel), "w")


class _RunsAShellCommand(_OpensAFile):
    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return os.system, (f"touch {self.sentinel}",)


class _ExecutesPython(_OpensAFile):
    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return builtins.exec, (f"open({str(self.sentinel)!r}, 'w').close()",)


@pytest.mark.parametrize("payload", [_OpensAFile, _RunsAShellCommand, _ExecutesPython])
@pytest.mark.parametrize("writer", ["torch.save", "pickle protocol 4"])
def test_malicious_reduce_is_refused_without_running(tmp_path: Path, payload: type, writer: str) -> None:
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    contents = {"state_dict": _weights(), "extra": payload(sentinel)}
    if writer == "torch.save":
        torch.save(contents, path)
    else:
        path.write_bytes(pickle.dumps(contents, protocol=4))
    with pytest.raises(WeightsError, match=r"evil\.ckpt was refused: its pickle imports '[\w.]+'"):
        read_state_dict(path)
    assert not sentinel.exists()


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_checkpoint_is_a_clear_error(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "cut.ckpt"
    torch.save({"epoch": 1, "state_dict": _weights()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(WeightsError, match=r"cut\.ckpt is truncated or corrupt"):
        read_state_dict(path)


def test_corrupt_safetensors_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    save_file(_weights(), str(path))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(WeightsError, match=r"bad\.safetensors is truncated or corrupt"):
        read_state_dict(path)


def test_a_file_without_weights_is_refused(tmp_path: Path) -> None:
    torch.save({"epoch": 3}, tmp_path / "empty.ckpt")
    with pytest.raises(WeightsError, match="contains no weights"):
        read_state_dict(tmp_path / "empty.ckpt")
