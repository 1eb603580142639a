"""From a ``vqgan_model`` name to a frozen network on a device, in small stages that each fail clearly.

resolve spec → resolve weights file → ensure it is in the cache → read its tensors safely → keep the
first-stage weights → check they fit the architecture → build on ``meta`` and assign → move and freeze.
Unlike taming's ``strict=False`` loading, a missing, extra or misshapen key is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from dreamloom.errors import WeightsError
from dreamloom.images.vqgan.network import VQGAN
from dreamloom.images.vqgan.registry import get_spec
from dreamloom.images.vqgan.spec import VQGANSpec
from dreamloom.models.checkpoints import read_state_dict
from dreamloom.models.install import ensure_entry
from dreamloom.models.registry import get_entry

_ROOTS = ("encoder.", "decoder.", "quantize.", "quant_conv.", "post_quant_conv.")
_SHOWN = 5


def load_vqgan(
    name: str,
    models_parent_dir: str | os.PathLike[str] | None = None,
    *,
    device: torch.device,
    allow_download: bool = True,
    progress: bool = True,
) -> VQGAN:
    """The pretrained network called ``name`` (pytti names and aliases), downloaded into the cache if needed."""
    spec = get_spec(name)
    if spec.weights is None:
        raise WeightsError(f"VQGAN model {spec.name!r} has no registered weights")
    path = ensure_entry(get_entry(spec.weights), models_parent_dir, allow_download=allow_download, progress=progress)
    return load_network(spec, path, device=device)


def load_network(
    spec: VQGANSpec, path: Path, *, device: torch.device, dtype: torch.dtype = torch.float32
) -> VQGAN:
    """Build ``spec`` with the weights of the checkpoint at ``path``, frozen, in eval mode, on ``device``."""
    weights = first_stage_weights(spec, read_state_dict(path))
    with torch.device("meta"):
        network = VQGAN(spec)
    check_layout(network, weights, path)
    network.load_state_dict(weights, strict=True, assign=True)
    return network.to(device=device, dtype=dtype).eval().requires_grad_(False)


def first_stage_weights(spec: VQGANSpec, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder/quantiser/decoder tensors, prefix stripped; loss, discriminator and transformer dropped."""
    prefix = spec.state_dict_prefix
    stripped = {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
    return {key: value for key, value in stripped.items() if key.startswith(_ROOTS)}


def check_layout(network: VQGAN, weights: dict[str, torch.Tensor], path: Path) -> None:
    """Raise a :class:`WeightsError` unless ``weights`` has exactly the network's names and shapes."""
    expected = {key: tuple(value.shape) for key, value in network.state_dict().items()}
    missing = sorted(expected.keys() - weights.keys())
    unexpected = sorted(weights.keys() - expected.keys())
    misshapen = sorted(
        f"{key} {tuple(weights[key].shape)} (expected {expected[key]})"
        for key in expected.keys() & weights.keys()
        if tuple(weights[key].shape) != expected[key]
    )
    problems = [
        f"{label}: {', '.join(keys[:_SHOWN])}{' ...' if len(keys) > _SHOWN else ''} ({len(keys)} in all)"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshapen))
        if keys
    ]
    if problems:
        raise WeightsError(
            f"checkpoint {path} does not fit VQGAN model {network.spec.name!r}: {'; '.join(problems)}. "
            "Is it the checkpoint of that model?"
        )
