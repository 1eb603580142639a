"""The weights registry's data for every family, its lazy table, the cache layout and the layering rule."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import open_clip
import pytest

import dreamloom.models
from dreamloom.errors import WeightsError
from dreamloom.images.vqgan.registry import get_spec, list_models
from dreamloom.models.cache import default_models_dir, file_path, installed_file, models_dir, offline
from dreamloom.models.entries import Family
from dreamloom.models.registry import get_entry, list_entries
from dreamloom.settings.perceptor_flags import PYTTI_PERCEPTOR_FLAGS

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


def test_names_aliases_and_filenames_are_unique() -> None:
    entries = list_entries()
    keys = [key for entry in entries for key in (entry.name, *entry.aliases)]
    filenames = [file.filename for entry in entries for file in entry.files]
    assert len(set(keys)) == len(keys) and len(set(filenames)) == len(filenames)


@pytest.mark.parametrize("entry", list_entries(), ids=lambda entry: entry.name)
def test_entry_is_well_formed(entry) -> None:  # type: ignore[no-untyped-def]
    assert entry.files and entry.licence and entry.description
    for file in entry.files:
        assert file.urls and all(urllib.parse.urlsplit(url).scheme in ("http", "https") for url in file.urls)
        assert file.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", file.sha256)
        assert Path(file.filename).parts[0] == entry.family.value and ".." not in Path(file.filename).parts
    assert entry.files[0].size == KNOWN_SIZES.get(entry.name)


def test_every_family_exists_and_every_entry_belongs_to_one() -> None:
    assert {family.label for family in Family} == {"perceptor", "vqgan", "depth", "flow"}
    assert [entry.name for entry in list_entries(Family.DEPTH)] == ["depth-anything-v2-small", "depth-anything-v2-base"]
    assert len(list_entries()) == sum(len(list_entries(family)) for family in Family)


def test_vqgan_files_keep_pyttis_cache_layout() -> None:
    checkpoints = [entry for entry in list_entries(Family.VQGAN) if not entry.name.endswith("-config")]
    names = ["coco", "imagenet", "imagenet_1024", "openimages", "sflckr", "wikiart"]
    assert sorted(entry.files[0].filename for entry in checkpoints) == [f"vqgan/{name}.ckpt" for name in names]
    heibox = "https://heibox.uni-heidelberg.de/f/867b05fc8c4841768640/?dl=1"
    assert get_entry("vqgan-imagenet").files[0].urls[0] == heibox
    assert any("pixray" in url for url in get_entry("vqgan-wikiart").files[0].urls)


@pytest.mark.parametrize("name", list_models())
def test_every_vqgan_model_name_and_alias_finds_its_checkpoint(name: str) -> None:
    spec = get_spec(name)
    for key in (spec.name, *spec.aliases):
        assert get_entry(key).name == spec.weights


def test_every_open_clip_pair_has_a_perceptor_entry_named_like_the_perceptor() -> None:
    names = {entry.name for entry in list_entries(Family.PERCEPTOR)}
    assert names == {f"{model}/{tag}" for model, tag in open_clip.list_pretrained()}


@pytest.mark.parametrize(("flag", "model"), PYTTI_PERCEPTOR_FLAGS.items())
def test_pytti_flags_are_aliases_of_the_openai_entries(flag: str, model: str) -> None:
    entry = get_entry(flag)
    assert entry.name == f"{model}/openai" and entry.family is Family.PERCEPTOR
    assert entry.licence == "MIT (OpenAI CLIP)"
    safe, pickled, original = entry.files
    assert safe.filename == f"open_clip/{model}/openai/open_clip_model.safetensors"
    assert safe.urls[0].startswith("https://huggingface.co/timm/") and safe.sha256 is None
    assert pickled.filename.endswith("/open_clip_pytorch_model.bin")
    assert original.urls[0].startswith("https://openaipublic.azureedge.net/clip/models/")
    assert original.sha256 == original.urls[0].split("/")[-2]


def test_hub_file_names_get_their_safetensors_form_first() -> None:
    entry = get_entry("ViTamin-S/datacomp1b")
    assert [Path(file.filename).name for file in entry.files] == ["pytorch_model.safetensors", "pytorch_model.bin"]
    assert entry.files[1].urls == ("https://huggingface.co/jienengchen/ViTamin-S/resolve/main/pytorch_model.bin",)
    assert get_entry("RN50/yfcc15m").files[-1].sha256 is None  # only OpenAI's URLs carry a hash
    assert "huggingface.co/" in get_entry("ViT-B-32/laion2b_s34b_b79k").licence


def test_unknown_name_is_a_weights_error_with_a_suggestion() -> None:
    with pytest.raises(WeightsError, match="unknown model 'ViTB23'. Did you mean ViTB32"):
        get_entry("ViTB23")


def test_the_table_is_built_on_first_use_not_at_import() -> None:
    code = (
        "import dreamloom.models.registry as r; print(r._table.cache_info().currsize); "
        "r.list_entries(); print(r._table.cache_info().currsize)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["0", "1"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return found | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


@pytest.mark.parametrize("path", sorted(Path(dreamloom.models.__file__).parent.glob("*.py")), ids=lambda p: p.name)
def test_models_imports_nothing_above_it(path: Path) -> None:
    above = ("dreamloom.images", "dreamloom.perception", "dreamloom.engine", "dreamloom.output", "dreamloom.cli")
    assert not [name for name in _imports(path) if name.startswith(above)]


def test_cache_folder_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / ".cache" / "dreamloom"
    assert models_dir(None) == models_dir("") == tmp_path / ".cache" / "dreamloom"
    assert models_dir("~/weights") == tmp_path / "weights"
    assert file_path(get_entry("vqgan-coco").files[0], tmp_path / "m") == tmp_path / "m" / "vqgan" / "coco.ckpt"


def test_an_entry_is_installed_when_any_form_is_and_the_preferred_one_wins(tmp_path: Path) -> None:
    entry = get_entry("ViTB32")
    assert installed_file(entry, tmp_path) is None
    safe, pickled = file_path(entry.files[0], tmp_path), file_path(entry.files[1], tmp_path)
    pickled.parent.mkdir(parents=True)
    pickled.write_bytes(b"x")
    assert installed_file(entry, tmp_path) == (entry.files[1], pickled)
    safe.write_bytes(b"x")
    assert installed_file(entry, tmp_path) == (entry.files[0], safe)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("TRUE", True), ("0", False), ("", False)])
def test_offline_follows_hf_hub_offline(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert offline() is expected
