"""The weights registry's data and the cache layout."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from dreamloom.errors import WeightsError
from dreamloom.models.cache import default_models_dir, file_path, models_dir, offline
from dreamloom.models.registry import WeightsKind, get_file, list_files

# Sizes from the PyTTI Portable mirror manifest quoted in image-models.md §6.1.
KNOWN_SIZES = {
    "vqgan-imagenet-config": 692,
    "vqgan-imagenet": 980_092_370,
    "vqgan-wikiart-config": 920,
    "vqgan-wikiart": 1_005_327_541,
    "vqgan-sflckr-config": 1_603,
    "vqgan-sflckr": 4_263_525_412,
    "vqgan-openimages-config": 745,
    "vqgan-openimages": 376_581_823,
    "vqgan-coco-config": 458,
    "vqgan-coco": 296_030_214,
}


def test_names_and_filenames_are_unique() -> None:
    entries = list_files()
    assert len({entry.name for entry in entries}) == len(entries)
    assert len({entry.filename for entry in entries}) == len(entries)


@pytest.mark.parametrize("entry", list_files(), ids=lambda entry: entry.name)
def test_entry_is_well_formed(entry) -> None:  # type: ignore[no-untyped-def]
    assert entry.urls and all(urllib.parse.urlsplit(url).scheme in ("http", "https") for url in entry.urls)
    assert entry.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
    assert entry.licence and entry.description
    assert not Path(entry.filename).is_absolute() and ".." not in Path(entry.filename).parts
    assert entry.size == KNOWN_SIZES.get(entry.name)


def test_vqgan_files_keep_pyttis_cache_layout() -> None:
    checkpoints = [entry for entry in list_files() if entry.kind is WeightsKind.VQGAN_CHECKPOINT]
    names = ["coco", "imagenet", "imagenet_1024", "openimages", "sflckr", "wikiart"]
    assert sorted(entry.filename for entry in checkpoints) == [f"vqgan/{name}.ckpt" for name in names]
    assert get_file("vqgan-imagenet").urls[0] == "https://heibox.uni-heidelberg.de/f/867b05fc8c4841768640/?dl=1"
    assert any("pixray" in url for url in get_file("vqgan-wikiart").urls)


def test_unknown_file_is_a_weights_error() -> None:
    with pytest.raises(WeightsError, match="unknown model file 'nope'.*vqgan-imagenet"):
        get_file("nope")


def test_cache_folder_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / ".cache" / "dreamloom"
    assert models_dir(None) == models_dir("") == tmp_path / ".cache" / "dreamloom"
    assert models_dir("~/weights") == tmp_path / "weights"
    assert file_path(get_file("vqgan-coco"), tmp_path / "m") == tmp_path / "m" / "vqgan" / "coco.ckpt"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("TRUE", True), ("0", False), ("", False)])
def test_offline_follows_hf_hub_offline(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert offline() is expected
