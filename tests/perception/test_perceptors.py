"""Perceptor names, the cache layout, offline errors, and real architectures loaded through the real path.

Real CLIP weights cannot be downloaded here: each architecture is built with random weights
(``pretrained=None``), saved where the cache expects its file, and loaded back through ``load_perceptor``.
"""

from __future__ import annotations

from pathlib import Path

import open_clip
import pytest
import torch
from safetensors.torch import save_file

from dreamloom.errors import SettingsError, WeightsError
from dreamloom.models import install
from dreamloom.models.cache import file_path
from dreamloom.models.fetch import FetchFailed
from dreamloom.models.registry import get_entry
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.perceptors import load_perceptor, load_perceptors, resolve_perceptor
from dreamloom.settings.perceptor_flags import PYTTI_PERCEPTOR_FLAGS
from dreamloom.settings.schema import Settings

from gradient_check import assert_gradient_matches_slopes
from perception_fakes import scenes

CPU = torch.device("cpu")
REAL = {"ViTB32": "ViT-B-32-quickgelu", "RN50-quickgelu/openai": "RN50-quickgelu"}


def _safetensors_path(cache: Path, model: str) -> Path:
    """Where the preferred (safetensors) form of ``model``'s OpenAI weights goes in ``cache``."""
    return file_path(get_entry(f"{model}/openai").files[0], cache)


@pytest.mark.parametrize("flag", list(PYTTI_PERCEPTOR_FLAGS))
def test_every_pytti_flag_resolves_to_an_open_clip_config_and_openai_weights(flag: str) -> None:
    spec = resolve_perceptor(flag)
    assert open_clip.get_model_config(spec.model) is not None
    assert spec.pretrained == "openai"
    preferred = get_entry(f"{spec.model}/openai").files[0]
    assert preferred.filename.endswith("/open_clip_model.safetensors")
    assert preferred.urls[0].startswith("https://huggingface.co/timm/")


def test_the_flags_table_is_the_settings_flags_in_pyttis_order() -> None:
    flags = [name for name, field in Settings.model_fields.items() if name in PYTTI_PERCEPTOR_FLAGS]
    assert sorted(flags) == sorted(PYTTI_PERCEPTOR_FLAGS)
    assert all(Settings.model_fields[flag].annotation is bool for flag in flags)
    pytti_order = "RN50 RN101 RN50x4 RN50x16 RN50x64 ViTB32 ViTB16 ViTL14 ViTL14_336px".split()  # §8
    assert Settings(**dict.fromkeys(reversed(pytti_order), True)).perceptor_names() == pytti_order


def test_model_slash_pretrained_names_and_unknown_names() -> None:
    assert resolve_perceptor("ViT-B-32/laion2b_s34b_b79k").pretrained == "laion2b_s34b_b79k"
    with pytest.raises(SettingsError, match="Did you mean ViTB32"):
        resolve_perceptor("ViTB23")
    with pytest.raises(SettingsError, match="unknown open_clip model 'ViT-Q-32'"):
        resolve_perceptor("ViT-Q-32/openai")
    with pytest.raises(SettingsError, match="unknown weights for RN50-quickgelu 'laion'"):
        resolve_perceptor("RN50-quickgelu/laion")
    with pytest.raises(SettingsError, match="at least one perceptor"):
        load_perceptors([], device=CPU, cache_dir=Path("."))


def test_offline_missing_file_names_model_file_and_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    expected = tmp_path / "open_clip" / "ViT-L-14-336-quickgelu" / "openai" / "open_clip_model.safetensors"
    with pytest.raises(WeightsError, match="ViT-L-14-336-quickgelu/openai") as caught:
        load_perceptor("ViTL14_336px", device=CPU, cache_dir=tmp_path)
    message = str(caught.value)
    assert str(expected) in message and "HF_HUB_OFFLINE" in message
    assert "https://huggingface.co/timm/vit_large_patch14_clip_336.openai/resolve/main/" in message


def test_failed_download_is_the_same_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    tried = []

    def no_network(url: str, target: Path, **_: object) -> None:
        tried.append((url, target))
        raise FetchFailed("no route to host")

    monkeypatch.setattr(install, "download", no_network)
    with pytest.raises(WeightsError, match=r"(?s)RN101-quickgelu/openai.*no route to host"):
        load_perceptor("RN101", device=CPU, cache_dir=tmp_path)
    forms = ["open_clip_model.safetensors", "open_clip_pytorch_model.bin", "RN101.pt"]
    assert [target.name for _, target in tried] == forms
    assert tried[0][1] == _safetensors_path(tmp_path, "RN101-quickgelu")


def test_corrupt_cached_file_is_a_weights_error(tmp_path: Path) -> None:
    path = _safetensors_path(tmp_path, "RN50-quickgelu")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot load .*open_clip_model.safetensors"):
        load_perceptor("RN50", device=CPU, cache_dir=tmp_path, offline=True)


@pytest.fixture(scope="module")
def real_perceptors(tmp_path_factory: pytest.TempPathFactory):
    """Two real architectures, random weights, installed in a cache and loaded through load_perceptor."""
    cache = tmp_path_factory.mktemp("models")
    loaded, originals = [], []
    for name, model_name in REAL.items():
        model = open_clip.create_model(model_name, pretrained=None)
        path = _safetensors_path(cache, model_name)
        path.parent.mkdir(parents=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
        originals.append(model.visual.conv1.weight.detach().clone())
        del model
        loaded.append(load_perceptor(name, device=CPU, cache_dir=cache, offline=True))
    return loaded, originals


def test_cached_weights_load_frozen_with_their_preprocessing(real_perceptors) -> None:
    perceptors, originals = real_perceptors
    for perceptor, original in zip(perceptors, originals):
        assert torch.equal(perceptor.model.visual.conv1.weight, original)
        assert not any(p.requires_grad for p in perceptor.parameters())
        assert not perceptor.model.training
        assert perceptor.input_size == 224 and perceptor.context_length == 77
        assert torch.allclose(perceptor.mean.flatten(), torch.tensor(open_clip.OPENAI_DATASET_MEAN))
    assert [p.name for p in perceptors] == list(REAL)


def test_two_real_architectures_run_end_to_end(real_perceptors) -> None:
    perceptors, _ = real_perceptors
    guide = SemanticGuide(perceptors, CutoutSettings(cutouts=2))
    guide.prepare(scenes("a cat:1 | a dog:-0.5_sky"), torch.Generator().manual_seed(0))

    def terms_of(picture: torch.Tensor) -> list:
        return guide.losses(picture, 0, {}, torch.Generator().manual_seed(1))  # the same cutouts every call

    image = torch.rand(1, 3, 64, 80, generator=torch.Generator().manual_seed(5), requires_grad=True)
    terms = terms_of(image)
    assert [term.label for term in terms] == ["a cat", "a dog"]
    assert all(0 < float(term.raw) < 5 for term in terms)
    # the unmasked prompt's gradient through both towers (the semantic mask of the other is detached, as in
    # pytti, so only this one is the true gradient of its loss), against finite differences in float32
    (gradient,) = torch.autograd.grad(terms[0].weighted, image)
    assert_gradient_matches_slopes(lambda picture: terms_of(picture)[0].weighted, image, gradient, step=1e-2,
                                   rel=5e-3)


def test_demo_perceptor_loads_through_the_same_path_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo architecture with random weights stands in for the trained file (which may not exist yet)."""
    from dreamloom.perception import demo_model

    demo_model.register_demo_model()
    torch.manual_seed(0)
    untrained = open_clip.create_model(demo_model.DEMO_MODEL_NAME, pretrained=None)
    weights = tmp_path / "demo.safetensors"
    save_file({k: v.contiguous() for k, v in untrained.state_dict().items()}, weights)
    monkeypatch.setattr(demo_model, "demo_weights_path", lambda: weights)
    perceptor = load_perceptor("demo", device=CPU, cache_dir=tmp_path)
    assert perceptor.name == "demo" and not any(p.requires_grad for p in perceptor.parameters())
    guide = SemanticGuide([perceptor], CutoutSettings(cutouts=4))
    guide.prepare(scenes("red:1 | blue:-0.5"), torch.Generator().manual_seed(0))

    def loss_of(picture: torch.Tensor) -> torch.Tensor:
        return sum(term.weighted for term in guide.losses(picture, 0, {}, torch.Generator().manual_seed(1)))

    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5), requires_grad=True)
    (gradient,) = torch.autograd.grad(loss_of(image), image)
    left = (torch.arange(64) < 32).to(image.dtype)
    # an untrained tower is nearly flat (‖g‖ ≈ 3e-4): steps small enough to be free of curvature drown in
    # float32 rounding, so this is a coarse check (2 %: a lost term, factor or sign is far outside)
    assert_gradient_matches_slopes(loss_of, image, gradient, step=0.1, rel=0.02, region=left)


def test_releasing_the_text_tower_frees_it_and_keeps_image_embeddings(tmp_path: Path) -> None:
    perceptor = load_perceptor("demo", device=CPU, cache_dir=tmp_path)
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    before = perceptor.encode_image(images)
    text_values = sum(p.numel() for n, p in perceptor.model.named_parameters() if not n.startswith("visual."))
    text_values += perceptor.model.attn_mask.numel() - perceptor.model.logit_scale.numel()
    assert perceptor.release_text_tower() == text_values > 3_000_000
    assert {n.split(".")[0] for n, _ in perceptor.model.named_parameters()} == {"visual", "logit_scale"}
    assert torch.equal(perceptor.encode_image(images), before)
    with pytest.raises(RuntimeError, match="text tower was released"):
        perceptor.encode_text(["red"])
