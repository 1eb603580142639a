"""Which architecture each depth model is: Depth Anything V2 configurations as data, built on first use.

"Which weights" is the registry's business (:mod:`dreamloom.models.depth_files`); a spec names its registry
entry and carries the preprocessing the weights were trained with. The numbers are those of the published
``Depth-Anything-V2-{Small,Base}-hf`` configs (DINOv2 ViT-S/14 and ViT-B/14 backbones, DPT head).
"""

from __future__ import annotations

import dataclasses
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class DepthSpec:
    """A Depth Anything architecture, its weights entry and its input preprocessing.

    ``input_size`` bounds the longer side the network sees (a multiple of ``patch_size``): depth is computed
    at that resolution at most, whatever the picture's size.
    """

    name: str
    weights: str
    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    out_indices: tuple[int, ...]
    neck_hidden_sizes: tuple[int, ...]
    fusion_hidden_size: int
    head_hidden_size: int = 32
    mlp_ratio: int = 4
    patch_size: int = 14
    input_size: int = 518
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def transformers_config(self) -> Any:
        """The ``DepthAnythingConfig`` of this spec (imports transformers, so call it only to build a model)."""
        from transformers import DepthAnythingConfig

        backbone: dict[str, Any] = {
            "model_type": "dinov2",
            "hidden_size": self.hidden_size,
            "num_attention_heads": self.num_attention_heads,
            "num_hidden_layers": self.num_hidden_layers,
            "out_indices": list(self.out_indices),
            "patch_size": self.patch_size,
            "image_size": self.input_size,
            "mlp_ratio": self.mlp_ratio,
            "reshape_hidden_states": False,
        }
        return DepthAnythingConfig(
            backbone_config=backbone,
            patch_size=self.patch_size,
            reassemble_hidden_size=self.hidden_size,
            neck_hidden_sizes=list(self.neck_hidden_sizes),
            fusion_hidden_size=self.fusion_hidden_size,
            head_hidden_size=self.head_hidden_size,
            depth_estimation_type="relative",
        )


_SPECS: dict[str, DepthSpec] = {
    "depth-anything-v2-small": DepthSpec(
        name="depth-anything-v2-small",
        weights="depth-anything-v2-small",
        hidden_size=384,
        num_attention_heads=6,
        num_hidden_layers=12,
        out_indices=(3, 6, 9, 12),
        neck_hidden_sizes=(48, 96, 192, 384),
        fusion_hidden_size=64,
    ),
    "depth-anything-v2-base": DepthSpec(
        name="depth-anything-v2-base",
        weights="depth-anything-v2-base",
        hidden_size=768,
        num_attention_heads=12,
        num_hidden_layers=12,
        out_indices=(3, 6, 9, 12),
        neck_hidden_sizes=(96, 192, 384, 768),
        fusion_hidden_size=128,
    ),
}


def list_depth_specs() -> list[str]:
    """Names of the depth architectures, as the ``depth_model`` setting spells them."""
    return list(_SPECS)


def get_depth_spec(name: str) -> DepthSpec:
    """The spec called ``name`` (a ``depth_model`` value other than ``flat``)."""
    return _SPECS[name]
