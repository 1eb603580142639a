"""Loss terms the engine adds up each step, and the protocol of the semantic (CLIP) part."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from dreamloom.dsl.expressions import Expression


@dataclass
class ImageLossTerm:
    """A loss on the decoded picture (smoothing, direct init, direct image prompts).

    ``raw`` maps the training picture [1, 3, H, W] to a scalar; weight and stop are expressions of ``t``.
    ``enabled`` lets animation switch terms on and off without rebuilding the list.
    """

    label: str
    weight: Expression
    stop: Expression
    raw: Callable[[torch.Tensor], torch.Tensor]
    enabled: bool = True


class SemanticLosses(Protocol):
    """What the engine needs from perception: prompt losses on batched cutouts, per micro-batch."""

    @property
    def columns(self) -> list[str]:
        """Labels of every prompt of every scene, in a fixed order (the loss log's columns)."""

    def micro_batches(self, image_size: tuple[int, int], generator: torch.Generator) -> Sequence[object]:
        """Draw this step's cutouts, split for gradient accumulation."""

    def losses(
        self,
        image: torch.Tensor,
        cutouts: object,
        scene_factors: Sequence[tuple[int, float]],
        env: Mapping[str, float],
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Weighted loss of the given scenes (each scaled by its factor) and raw distances by column."""
