"""A tiny, randomly initialised Depth Anything (no download): its spec, its network and its weights file."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from dreamloom.animation.depth_specs import DepthSpec


def tiny_depth_spec(name: str = "depth-anything-v2-small") -> DepthSpec:
    """A 4-layer, 32-wide Depth Anything that answers to ``name``'s weights entry; pictures seen at ≤ 56 px."""
    return DepthSpec(name=name, weights=name, hidden_size=32, num_attention_heads=2, num_hidden_layers=4,
                     out_indices=(1, 2, 3, 4), neck_hidden_sizes=(8, 16, 32, 32), fusion_hidden_size=16,
                     head_hidden_size=8, mlp_ratio=2, input_size=56)


def tiny_network(spec: DepthSpec, seed: int = 0) -> torch.nn.Module:
    """The network of ``spec`` with random weights large enough that its depth varies over a picture
    (transformers' own initialisation makes the relative output nearly constant)."""
    from transformers import DepthAnythingForDepthEstimation

    generator = torch.Generator().manual_seed(seed)
    network = DepthAnythingForDepthEstimation(spec.transformers_config()).eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return network


def write_tiny_weights(models_parent_dir: Path, spec: DepthSpec, seed: int = 0) -> Path:
    """Save :func:`tiny_network` where the registry keeps ``spec.weights``' file; return the path."""
    path = models_parent_dir / "depth" / spec.weights / "model.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.contiguous() for key, value in tiny_network(spec, seed).state_dict().items()}
    save_file(state, str(path))
    return path
