"""dreamloom's bundled demo perceptor: a small CLIP in open_clip's own format, trained on synthetic pictures.

Its architecture is an open_clip model config (``assets/demo/dreamloom-demo.json``) registered under
:data:`DEMO_MODEL_NAME`, and its weights a safetensors file next to it, so it loads through exactly the
``open_clip.create_model(name, pretrained=<file>)`` path the real CLIP models use. The config carries no
``preprocess_cfg``: open_clip 3.3 passes every key of a registered config to the model constructor, so the
demo is trained with open_clip's default preprocessing (OpenAI CLIP mean and std), which ``create_model``
attaches as ``model.visual.preprocess_cfg`` as it does for every model. Training and evaluating it live
apart, in the ``dreamloom_train`` package (``python -m dreamloom_train.train``), which this package never
imports.
"""

from __future__ import annotations

from pathlib import Path

import open_clip
import torch

from dreamloom.errors import WeightsError

DEMO_MODEL_NAME = "dreamloom-demo"
_ASSETS = Path(__file__).resolve().parent.parent / "assets" / "demo"


def demo_config_path() -> Path:
    """The open_clip model config of the demo perceptor; its file stem is the model name."""
    return _ASSETS / f"{DEMO_MODEL_NAME}.json"


def demo_weights_path() -> Path:
    """The trained demo weights (safetensors, fp16) shipped inside the package."""
    return _ASSETS / f"{DEMO_MODEL_NAME}.safetensors"


def register_demo_model() -> None:
    """Make ``open_clip.create_model(DEMO_MODEL_NAME, ...)`` work; calling it again changes nothing."""
    if DEMO_MODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(demo_config_path())


def create_demo_model(device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """Build the demo perceptor with its trained weights, in eval mode, on ``device`` in ``dtype``."""
    weights = demo_weights_path()
    if not weights.is_file():
        raise WeightsError(
            f"demo perceptor weights are missing at {weights}; reinstall dreamloom or retrain them with "
            "`python -m dreamloom_train.train`"
        )
    register_demo_model()
    model = open_clip.create_model(DEMO_MODEL_NAME, pretrained=str(weights), device=device)
    return model.to(dtype=dtype).eval()

