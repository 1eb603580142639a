"""``dreamloom models list | download | verify | path`` through a parser built like the CLI's."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from dreamloom.errors import WeightsError
from dreamloom.models.commands import add_models_parser


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dreamloom")
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_path_resolves_files_models_and_aliases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("vqgan-sflckr", "sflckr", "sflickr"):
        assert _run("models", "path", name, "--models-parent-dir", str(tmp_path)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [str(tmp_path / "vqgan" / "sflckr.ckpt")] * 3


def test_list_shows_every_file_and_its_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vqgan").mkdir()
    (tmp_path / "vqgan" / "coco.yaml").write_bytes(b"x" * 458)
    assert _run("models", "list", "--models-parent-dir", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out
    assert "vqgan-openimages " in out and "376.6 MB" in out
    assert any(line.startswith("vqgan-coco-config") and "installed" in line for line in out.splitlines())
    assert any(line.startswith("vqgan-imagenet ") and "missing" in line for line in out.splitlines())


def test_verify_reports_good_corrupt_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "vqgan").mkdir()
    (tmp_path / "vqgan" / "imagenet.yaml").write_bytes(b"m" * 692)
    assert _run("models", "verify", "vqgan-imagenet-config", "--models-parent-dir", str(tmp_path)) == 0
    assert "ok, size matches; no published sha256" in capsys.readouterr().out
    (tmp_path / "vqgan" / "imagenet.yaml").write_bytes(b"m" * 10)
    assert _run("models", "verify", "--models-parent-dir", str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "vqgan-imagenet-config: CORRUPT, its size is 10 bytes instead of 692" in out
    assert "vqgan-coco: not installed" in out
    assert _run("models", "verify", "coco", "--models-parent-dir", str(tmp_path)) == 1


def test_download_offline_is_the_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"(?s)'vqgan-openimages'.*heibox.*place it at"):
        _run("models", "download", "openimages", "--models-parent-dir", str(tmp_path))


def test_unknown_name_is_a_weights_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="unknown model file 'faceshq'"):
        _run("models", "path", "faceshq")
