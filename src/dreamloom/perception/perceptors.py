"""Perceptor names → open_clip architectures and weights, and the loading factory.

Accepted names: pytti's flags (``ViTB32`` … ``RN50x64``, the OpenAI CLIP models as open_clip's
``-quickgelu`` architectures with tag ``openai``), any open_clip ``MODEL/PRETRAINED`` pair, and ``demo``
(dreamloom's bundled model). Loading runs small stages: resolve the spec, ensure the weights through the
weights registry (whose entries are named ``MODEL/PRETRAINED``), build the architecture, load the file,
wrap it frozen in a :class:`Perceptor`.
"""

from __future__ import annotations

import difflib
import pickle
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from safetensors import SafetensorError

from dreamloom.errors import SettingsError, WeightsError
from dreamloom.models.checkpoints import load_failure
from dreamloom.models.install import ensure_entry
from dreamloom.models.registry import get_entry
from dreamloom.perception.adapter import Perceptor
from dreamloom.settings.perceptor_flags import OPENAI_TAG, PYTTI_PERCEPTOR_FLAGS

__all__ = [
    "DEMO_NAME",
    "PerceptorSpec",
    "list_perceptors",
    "resolve_perceptor",
    "load_perceptor",
    "load_perceptors",
]

DEMO_NAME = "demo"


@dataclass(frozen=True)
class PerceptorSpec:
    """Which architecture (``model``) with which weights (``pretrained``; None for the demo model)."""

    name: str
    model: str
    pretrained: str | None


def list_perceptors() -> list[str]:
    """The short names: pytti's flags and ``demo`` (any open_clip ``MODEL/PRETRAINED`` also works)."""
    return [*PYTTI_PERCEPTOR_FLAGS, DEMO_NAME]


def _unknown(name: str, known: list[str], what: str) -> SettingsError:
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return SettingsError(
        f"perceptors: unknown {what} {name!r}.{hint} `dreamloom models list --family perceptor` lists them."
    )


def resolve_perceptor(name: str) -> PerceptorSpec:
    """Parse a perceptor name without downloading anything; unknown names are a SettingsError."""
    name = name.strip()
    if name == DEMO_NAME:
        from dreamloom.perception.demo_model import DEMO_MODEL_NAME, register_demo_model

        register_demo_model()
        return PerceptorSpec(name=name, model=DEMO_MODEL_NAME, pretrained=None)
    if name in PYTTI_PERCEPTOR_FLAGS:
        return PerceptorSpec(name=name, model=PYTTI_PERCEPTOR_FLAGS[name], pretrained=OPENAI_TAG)
    if "/" not in name:
        raise _unknown(name, list_perceptors(), "perceptor (use a pytti flag, `demo` or MODEL/PRETRAINED)")
    model, _, tag = name.partition("/")
    if model not in open_clip.list_models():
        raise _unknown(model, open_clip.list_models(), "open_clip model")
    tags = open_clip.list_pretrained_tags_by_model(model)
    if tag not in tags:
        raise _unknown(tag, tags, f"weights for {model}")
    return PerceptorSpec(name=name, model=model, pretrained=tag)


def _build(spec: PerceptorSpec, checkpoint: Path, device: torch.device) -> torch.nn.Module:
    """Build the architecture and load ``checkpoint`` into it through open_clip (weights_only loading)."""
    try:
        return open_clip.create_model(
            spec.model, pretrained=str(checkpoint), device=device, precision="fp32", weights_only=True
        )
    except (RuntimeError, ValueError, KeyError, OSError, EOFError, SafetensorError, pickle.UnpicklingError) as failure:
        raise WeightsError(
            f"perceptor {spec.name}: cannot load {checkpoint}: {load_failure(failure)}. Delete the file and run "
            f"`dreamloom models download {spec.name}`, or put the right checkpoint in its place."
        ) from None


def wrap_perceptor(spec: PerceptorSpec, model: torch.nn.Module, precision: torch.dtype) -> Perceptor:
    """A built open_clip model as the loader hands it out: the adapter with the weights' own preprocessing
    (mean/std from open_clip's table, else the model's); the adapter swaps in the fast paths. The
    benchmarks and tests wrap random-weight architectures with it."""
    tag_cfg = open_clip.get_pretrained_cfg(spec.model, spec.pretrained or "")
    model_cfg = getattr(model.visual, "preprocess_cfg", {})
    size = model.visual.image_size
    return Perceptor(
        model,
        open_clip.get_tokenizer(spec.model),
        name=spec.name,
        input_size=int(size[0] if isinstance(size, (tuple, list)) else size),
        mean=tag_cfg.get("mean", model_cfg.get("mean", open_clip.OPENAI_DATASET_MEAN)),
        std=tag_cfg.get("std", model_cfg.get("std", open_clip.OPENAI_DATASET_STD)),
        context_length=int(model.context_length),
        compute_dtype=precision,
    )


def _load_demo(spec: PerceptorSpec, device: torch.device, precision: torch.dtype) -> Perceptor:
    """The bundled model; its own module knows where its weights are shipped."""
    from dreamloom.perception.demo_model import create_demo_model

    return wrap_perceptor(spec, create_demo_model(device, torch.float32), precision)


def load_perceptor(
    name: str,
    *,
    device: torch.device,
    precision: torch.dtype = torch.float32,
    cache_dir: Path,
    offline: bool = False,
    progress: bool = True,
) -> Perceptor:
    """Load one perceptor frozen and in eval mode; weights are cached under ``cache_dir`` (models_parent_dir).

    A missing file when ``offline`` (or ``HF_HUB_OFFLINE=1``, or when the download fails) raises one
    WeightsError naming the model, the expected file and where to put it.
    """
    spec = resolve_perceptor(name)
    if spec.pretrained is None:
        return _load_demo(spec, device, precision)
    entry = get_entry(f"{spec.model}/{spec.pretrained}")
    checkpoint = ensure_entry(entry, cache_dir, allow_download=not offline, progress=progress)
    return wrap_perceptor(spec, _build(spec, checkpoint, device), precision)


def load_perceptors(
    names: list[str],
    *,
    device: torch.device,
    precision: torch.dtype = torch.float32,
    cache_dir: Path,
    offline: bool = False,
    progress: bool = True,
) -> list[Perceptor]:
    """Load several perceptors in the order given (the order of the loss's perceptor axis)."""
    if not names:
        raise SettingsError("perceptors: select at least one perceptor (e.g. ViTB32: true, or demo)")
    specs = [resolve_perceptor(name) for name in names]
    return [
        load_perceptor(
            spec.name, device=device, precision=precision, cache_dir=cache_dir, offline=offline, progress=progress
        )
        for spec in specs
    ]
