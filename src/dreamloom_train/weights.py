"""The demo perceptor's weights file as training sees it: any path, fp16 safetensors, with metadata.

The runtime loads only the shipped file (``dreamloom.perception.demo_model.create_demo_model``); training
also writes and rereads unfinished weights elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import open_clip
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from dreamloom.perception.demo_model import DEMO_MODEL_NAME, register_demo_model


def save_weights(model: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """Write the weights as fp16 safetensors (open_clip casts them back on load); counters stay integers."""
    tensors = {
        k: (v.detach().to(torch.float16) if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata stored with the weights (the training config, minutes, finishing state)."""
    with safe_open(str(path), framework="pt") as handle:
        return handle.metadata() or {}


def load_weights(path: Path) -> torch.nn.Module:
    """The demo architecture with the weights at ``path``, in float32 and eval mode, on the CPU."""
    register_demo_model()
    return open_clip.create_model(DEMO_MODEL_NAME, pretrained=str(path)).eval()
