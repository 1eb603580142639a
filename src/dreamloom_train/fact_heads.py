"""Fact heads: one cosine classifier per scene fact, shared by the image and text towers in training."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dreamloom_train.scenes import COLOURS, POSITIONS, SHAPES, SceneKind

_COLOUR_NAMES = tuple(COLOURS)
FACT_VALUES: dict[str, tuple[str, ...]] = {
    "kind": tuple(kind.value for kind in SceneKind),
    "background": _COLOUR_NAMES,
    "colour": _COLOUR_NAMES,
    "shape": SHAPES,
    "position": POSITIONS,
    "left": _COLOUR_NAMES,
    "right": _COLOUR_NAMES,
    "top": _COLOUR_NAMES,
    "bottom": _COLOUR_NAMES,
}


def fact_labels(facts: frozenset[tuple[str, str]] | None) -> list[int]:
    """The value index of every fact in :data:`FACT_VALUES` order; -1 for facts not stated."""
    stated = dict(facts or ())
    return [values.index(stated[name]) if name in stated else -1 for name, values in FACT_VALUES.items()]


class FactHeads(torch.nn.Module):
    """One cosine classifier per fact, shared by the image and the text embeddings (training only).

    Sharing the heads ties both towers to the same direction per fact value from the first step: the
    image tower must encode shapes and positions linearly, and captions naming different shapes cannot
    collapse onto one embedding, which the contrastive loss alone let happen.
    """

    def __init__(self, dim: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(len(values), dim) / math.sqrt(dim)) for values in FACT_VALUES.values()
        )

    def forward(self, embeds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the stated facts. Shape: embeds [N, D] (unit), labels [N, F] -> scalar."""
        losses = []
        for column, weight in enumerate(self.weights):
            known = labels[:, column] >= 0
            if known.any():
                logits = self.scale * embeds[known] @ F.normalize(weight, dim=1).T
                losses.append(F.cross_entropy(logits, labels[known, column], reduction="sum"))
        return torch.stack(losses).sum() / (labels >= 0).sum().clamp(min=1)
