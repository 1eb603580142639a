"""Loss terms the engine adds up each step, and the protocol of the prompt (CLIP) part."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from dreamloom.dsl.expressions import Expression
from dreamloom.perception.views import PerceptorDraw
from dreamloom.plan.timeline import SceneBlend

MicroBatch = Sequence[PerceptorDraw]
"""One micro-batch's cutout draws, one per perceptor."""


@dataclass
class ImageLossTerm:
    """A loss on the decoded picture (smoothing, direct init, direct image prompts, stabilization).

    ``raw`` maps the training picture [1, 3, H, W] to a scalar; weight and stop are expressions of ``t``.
    Frame hooks switch a term with ``enabled`` and may replace ``raw`` to give it a new target per frame;
    the list of terms, and so the loss log's columns, is fixed when the run is built.
    """

    label: str
    weight: Expression
    stop: Expression
    raw: Callable[[torch.Tensor], torch.Tensor]
    enabled: bool = True


class PromptLosses(Protocol):
    """What the engine needs from perception: prompt losses on batched cutouts, per micro-batch."""

    @property
    def columns(self) -> list[str]:
        """Labels of every prompt of every scene, in a fixed order (the loss log's columns)."""

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> Sequence[MicroBatch]:
        """Draw this step's cutouts, split for gradient accumulation."""

    def losses(
        self, image: torch.Tensor, batch: MicroBatch, blend: SceneBlend, env: Mapping[str, float]
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Weighted loss of the step's scenes and raw distances by column."""

    def state(self) -> dict[str, Any]:
        """What changes while the run renders (for backups); empty when nothing does."""

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`."""
