"""``dreamloom models list | download | verify | path`` through a parser built like the CLI's."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pytest

from dreamloom.errors import WeightsError
from dreamloom.models import commands
from dreamloom.models.commands import add_models_parser
from dreamloom.models.entries import Family, ModelEntry, WeightsFile
from dreamloom.models.registry import list_entries

from weights_server import Served, serve


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dreamloom")
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_path_resolves_names_and_aliases_of_every_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("vqgan-sflckr", "sflckr", "sflickr", "ViTB16", "ViT-B-16-quickgelu/openai"):
        assert _run("models", "path", name, "--models-parent-dir", str(tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    sflckr = str(tmp_path / "vqgan" / "sflckr.ckpt")
    clip = str(tmp_path / "open_clip" / "ViT-B-16-quickgelu" / "openai" / "open_clip_model.safetensors")
    assert lines == [sflckr] * 3 + [clip] * 2


def test_path_names_the_installed_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    installed = tmp_path / "open_clip" / "RN50-quickgelu" / "openai" / "RN50.pt"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"x")
    assert _run("models", "path", "RN50", "--models-parent-dir", str(tmp_path)) == 0
    assert capsys.readouterr().out.strip() == str(installed)


def test_list_shows_every_family_and_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vqgan").mkdir()
    (tmp_path / "vqgan" / "coco.yaml").write_bytes(b"x" * 458)
    clip = tmp_path / "open_clip" / "ViT-B-32-quickgelu" / "openai" / "open_clip_model.safetensors"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"x")
    assert _run("models", "list", "--models-parent-dir", str(tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"models folder: {tmp_path}"
    row = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert row["vqgan-openimages"][:4] == ["vqgan", "376.6", "MB", "missing"]
    assert row["vqgan-coco-config"][:3] == ["vqgan", "458", "B"] and row["vqgan-coco-config"][3] == "installed"
    assert row["ViT-B-32-quickgelu/openai"][:4] == ["perceptor", "size", "unknown", "installed"]
    assert "(also ViTB32)" in " ".join(row["ViT-B-32-quickgelu/openai"])
    assert row["ViT-B-16-quickgelu/openai"][3] == "missing"


def test_list_can_show_one_family(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("models", "list", "--family", "vqgan", "--models-parent-dir", str(tmp_path)) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 12 and all(row.split()[1] == "vqgan" for row in rows)


def test_verify_reports_good_corrupt_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vqgan").mkdir()
    (tmp_path / "vqgan" / "imagenet.yaml").write_bytes(b"m" * 692)
    assert _run("models", "verify", "vqgan-imagenet-config", "--models-parent-dir", str(tmp_path)) == 0
    assert "ok, size matches; no published sha256" in capsys.readouterr().out
    (tmp_path / "vqgan" / "imagenet.yaml").write_bytes(b"m" * 10)
    assert _run("models", "verify", "--models-parent-dir", str(tmp_path)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("vqgan-imagenet-config: CORRUPT, its size is 10 bytes instead of 692")
    assert out[0].endswith(f"({tmp_path / 'vqgan' / 'imagenet.yaml'})")
    missing = len(list_entries()) - 1
    assert out[1:] == [f"{missing} registered models are not installed (`dreamloom models list` shows them)"]
    assert _run("models", "verify", "coco", "--models-parent-dir", str(tmp_path)) == 1
    assert capsys.readouterr().out == f"coco: not installed ({tmp_path / 'vqgan' / 'coco.ckpt'})\n"


def test_verify_checks_a_perceptor_forms_published_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = tmp_path / "open_clip" / "RN50-quickgelu" / "openai" / "RN50.pt"
    original.parent.mkdir(parents=True)
    original.write_bytes(b"not OpenAI's file")
    assert _run("models", "verify", "RN50", "--models-parent-dir", str(tmp_path)) == 1
    assert "RN50-quickgelu/openai: CORRUPT, its sha256 is" in capsys.readouterr().out


def test_download_fetches_any_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    payload = b"depth weights" * 100
    served = Served(files={"/depth.safetensors": payload})
    with serve(served) as base:
        entry = ModelEntry(
            name="test-depth",
            family=Family.DEPTH,
            files=(
                WeightsFile(
                    "depth/test/model.safetensors",
                    (f"{base}/depth.safetensors",),
                    size=len(payload),
                    sha256=hashlib.sha256(payload).hexdigest(),
                ),
            ),
            licence="test",
            description="a test depth model",
        )
        monkeypatch.setattr(commands, "get_entry", {"test-depth": entry}.__getitem__)
        assert _run("models", "download", "test-depth", "--models-parent-dir", str(tmp_path)) == 0
    installed = tmp_path / "depth" / "test" / "model.safetensors"
    assert capsys.readouterr().out.strip() == str(installed) and installed.read_bytes() == payload


def test_download_offline_is_the_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"(?s)'vqgan-openimages'.*heibox.*place it at"):
        _run("models", "download", "openimages", "--models-parent-dir", str(tmp_path))
    hashed_form = r"(?s)'RN50x4-quickgelu/openai'.*place it at.*RN50x4\.pt \(sha256 [0-9a-f]{64}\)"
    with pytest.raises(WeightsError, match=hashed_form):
        _run("models", "download", "RN50x4", "--models-parent-dir", str(tmp_path))


def test_unknown_name_is_a_weights_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="unknown model 'faceshq'"):
        _run("models", "path", "faceshq")
