"""Registry entries for the depth models of ``animation_mode: 3D`` (the ``depth_model`` setting).

Each entry is the ``model.safetensors`` of a Depth Anything V2 checkpoint converted for transformers, kept
at ``depth/<name>/model.safetensors`` under ``models_parent_dir``. The architecture lives with the depth
code (:mod:`dreamloom.animation.depth_specs`), so the config file is not needed. The hub publishes no size
or sha256 that dreamloom could check against, so none is recorded.
"""

from __future__ import annotations

from dreamloom.models.entries import Family, ModelEntry, WeightsFile

_HUB = "https://huggingface.co/depth-anything"


def _entry(name: str, repo: str, licence: str, description: str) -> ModelEntry:
    url = f"{_HUB}/{repo}/resolve/main/model.safetensors"
    return ModelEntry(
        name=name,
        family=Family.DEPTH,
        files=(WeightsFile(f"{Family.DEPTH.value}/{name}/model.safetensors", (url,)),),
        licence=licence,
        description=description,
    )


def depth_entries() -> tuple[ModelEntry, ...]:
    """Depth Anything V2 Small (the default ``depth_model``) and Base."""
    return (
        _entry("depth-anything-v2-small", "Depth-Anything-V2-Small-hf", "Apache-2.0",
               "Depth Anything V2 Small, relative depth (25 M parameters)"),
        _entry("depth-anything-v2-base", "Depth-Anything-V2-Base-hf", "CC-BY-NC-4.0 (non-commercial use only)",
               "Depth Anything V2 Base, relative depth (98 M parameters)"),
    )
