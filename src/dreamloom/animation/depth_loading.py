"""From a ``depth_model`` value to a frozen :class:`DepthEstimator` on a device, in small stages.

resolve spec → ensure the registry entry is in the cache → build the architecture with transformers →
load the safetensors weights (missing, extra or misshapen tensors are an error) → freeze. transformers is
imported here only, when a run asks for a depth model, so importing dreamloom stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from dreamloom.animation.depth import DepthAnything, DepthEstimator, FlatDepth
from dreamloom.animation.depth_specs import DepthSpec, get_depth_spec
from dreamloom.errors import DreamloomError, WeightsError
from dreamloom.models.install import ensure_entry
from dreamloom.models.registry import get_entry

FLAT = "flat"


def load_depth_model(
    name: str,
    models_parent_dir: str | os.PathLike[str] | None = None,
    *,
    device: torch.device,
    allow_download: bool = True,
    progress: bool = True,
) -> DepthEstimator:
    """The depth model called ``name`` (a ``depth_model`` value), its weights fetched into the cache if needed."""
    if name == FLAT:
        return FlatDepth().to(device)
    spec = get_depth_spec(name)
    path = ensure_entry(get_entry(spec.weights), models_parent_dir, allow_download=allow_download, progress=progress)
    return load_depth_network(spec, path, device=device)


def load_depth_network(spec: DepthSpec, path: Path, *, device: torch.device) -> DepthEstimator:
    """Build ``spec`` with the ``model.safetensors`` at ``path``, frozen, in eval mode, on ``device``."""
    try:
        from transformers import DepthAnythingForDepthEstimation
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise DreamloomError(
            f"depth_model: {spec.name} needs the transformers package, which cannot be imported; install it with "
            "`pip install 'transformers>=4.45'` or choose depth_model: flat."
        ) from None

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    if path.name != "model.safetensors":
        raise WeightsError(f"depth model {spec.name!r}: expected a model.safetensors file, got {path}")
    try:
        network, info = DepthAnythingForDepthEstimation.from_pretrained(
            path.parent, config=spec.transformers_config(), local_files_only=True, output_loading_info=True
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise WeightsError(f"depth model {spec.name!r}: cannot read {path}: {error}") from None
    problems = [
        f"{label}: {', '.join(sorted(map(str, keys))[:5])} ({len(keys)} in all)"
        for label, keys in (("missing", info["missing_keys"]), ("unexpected", info["unexpected_keys"]),
                            ("wrong shape", info["mismatched_keys"]))
        if keys
    ]
    if problems:
        raise WeightsError(
            f"{path} does not fit depth model {spec.name!r}: {'; '.join(problems)}. Is it that model's "
            f"model.safetensors? `dreamloom models download {spec.weights}` fetches the right file."
        )
    model = DepthAnything(network, input_size=spec.input_size, patch_size=spec.patch_size, mean=spec.mean, std=spec.std)
    return model.to(device).eval().requires_grad_(False)
