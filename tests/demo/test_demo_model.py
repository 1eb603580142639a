"""The bundled demo perceptor loads through open_clip's normal path and knows its colours and shapes."""

from __future__ import annotations

import open_clip
import pytest
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from safetensors.torch import load_file

from dreamloom.errors import WeightsError
from dreamloom.perception import demo_model
from dreamloom.perception.demo_model import DEMO_MODEL_NAME, create_demo_model, demo_weights_path, register_demo_model
from dreamloom_train.preprocess import normalise
from dreamloom_train.probes import make_probe, zero_shot_accuracy

CPU = torch.device("cpu")
FRESH_SEED = 424242  # neither the training seed (0) nor the training command's evaluation seeds (1000, 2000)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return create_demo_model(CPU, torch.float32)


def test_weights_ship_within_size_budget() -> None:
    assert demo_weights_path().stat().st_size <= 10 * 1024 * 1024


def test_registration_is_idempotent() -> None:
    register_demo_model()
    before = open_clip.list_models()
    register_demo_model()
    assert open_clip.list_models() == before
    assert DEMO_MODEL_NAME in before


def test_loads_the_shipped_weights_through_open_clip(model: torch.nn.Module) -> None:
    stored = load_file(str(demo_weights_path()))
    state = model.state_dict()
    assert set(stored) == set(state)
    assert torch.equal(state["visual.conv1.weight"], stored["visual.conv1.weight"].float())
    assert torch.equal(state["token_embedding.weight"], stored["token_embedding.weight"].float())
    assert torch.equal(state["text_projection"], stored["text_projection"].float())
    assert not model.training


def test_preprocessing_comes_from_open_clip(model: torch.nn.Module) -> None:
    cfg = model.visual.preprocess_cfg
    assert cfg["size"] in (64, (64, 64))
    assert tuple(cfg["mean"]) == OPENAI_DATASET_MEAN and tuple(cfg["std"]) == OPENAI_DATASET_STD


def test_missing_weights_are_a_weights_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(demo_model, "demo_weights_path", lambda: tmp_path / "gone.safetensors")
    with pytest.raises(WeightsError, match="demo perceptor weights are missing"):
        create_demo_model(CPU, torch.float32)


@pytest.mark.parametrize(
    ("probe", "minimum"),
    [("colour", 0.95), ("background", 0.95), ("object colour", 0.85), ("shape", 0.85), ("position", 0.9)],
)
def test_zero_shot_accuracy_on_a_fresh_batch(model: torch.nn.Module, probe: str, minimum: float) -> None:
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    assert zero_shot_accuracy(model, tokenizer, make_probe(probe, 60, 64, FRESH_SEED)) >= minimum


def test_bfloat16_embeddings_agree_with_float32(model: torch.nn.Module) -> None:
    images = normalise(make_probe("shape", 8, 64, FRESH_SEED).images, model)
    low = create_demo_model(CPU, torch.bfloat16)
    with torch.no_grad():
        full = model.encode_image(images, normalize=True)
        half = low.encode_image(images.to(torch.bfloat16), normalize=True).float()
    assert float((full * half).sum(dim=1).min()) > 0.98
