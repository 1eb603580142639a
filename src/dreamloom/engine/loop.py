"""The optimisation loop: one Adam step per global step, reporting through callbacks (no file I/O here).

Order per step follows pytti (prompts-and-perceptors.md §6.2): fresh optimiser at frame boundaries when
``reset_lr_each_frame``; decode; image losses; model regularisers; prompt losses per micro-batch; backward;
optimiser step; the model's ``after_step``. The picture is decoded once per step: losses run on a detached
copy whose gradient is pushed back through the decoder at the end, so each micro-batch's perceptor graph is
freed by its own backward.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from dreamloom.engine.terms import ImageLossTerm, SemanticLosses
from dreamloom.engine.timeline import Timeline
from dreamloom.images.base import ImageModel
from dreamloom.losses.weighting import apply_weight
from dreamloom.output.loss_log import LossHistory


@dataclass(frozen=True)
class StepReport:
    """Sent to callbacks after each step; ``done`` steps are complete (so ``done - 1`` just ran)."""

    done: int
    scene: int
    t: float
    model: ImageModel
    history: LossHistory


StepCallback = Callable[[StepReport], None]


class Optimisation:
    """Owns the optimiser, the random generator and the loss history of a run."""

    def __init__(
        self,
        model: ImageModel,
        semantic: SemanticLosses | None,
        image_terms: Sequence[ImageLossTerm],
        timeline: Timeline,
        *,
        learning_rate: float,
        reset_lr_each_frame: bool,
        generator: torch.Generator,
        variables: Callable[[int], Mapping[str, float]],
    ) -> None:
        self.model = model
        self.semantic = semantic
        self.image_terms = list(image_terms)
        self.timeline = timeline
        self.learning_rate = learning_rate
        self.reset_lr_each_frame = reset_lr_each_frame
        self.generator = generator
        self.variables = variables
        self.optimizer = self._new_optimizer()
        device = next(model.parameters()).device
        prompt_columns = semantic.columns if semantic is not None else []
        regularizer_columns = list(model.regularizers())
        self.columns = prompt_columns + [term.label for term in self.image_terms] + regularizer_columns
        self.history = LossHistory(self.columns, timeline.total_steps, device)
        self._image_offset = len(prompt_columns)
        self._regularizer_offset = self._image_offset + len(self.image_terms)

    def _new_optimizer(self) -> torch.optim.Adam:
        return torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)

    def run(self, start: int, callbacks: Sequence[StepCallback]) -> None:
        """Run steps ``start`` … end; each callback sees every completed step."""
        for step in range(start, self.timeline.total_steps):
            self.step(step)
            report = StepReport(step + 1, self.timeline.scene_of(step)[0], self.timeline.time_of(step), self.model, self.history)
            for callback in callbacks:
                callback(report)

    def step(self, step: int) -> None:
        """One optimisation step at global step ``step``."""
        if self.reset_lr_each_frame and step > 0 and self.timeline.is_frame_boundary(step):
            self.optimizer = self._new_optimizer()
        env = self.variables(step)
        self.optimizer.zero_grad(set_to_none=True)
        picture = self.model.decode_training()
        leaf = picture.detach().requires_grad_(True)
        row = torch.full((len(self.columns),), math.nan, device=picture.device)

        direct = self._image_losses(leaf, env, row)
        if direct is not None:
            direct.backward()
        self._prompt_losses(leaf, step, env, row)

        regularizers = self.model.regularizers()
        for offset, value in enumerate(regularizers.values()):
            row[self._regularizer_offset + offset] = value.detach()
        total = sum(regularizers.values(), torch.zeros((), device=picture.device))
        if leaf.grad is not None:
            total = total + (picture * leaf.grad).sum()
        if total.requires_grad:
            total.backward()
        self.optimizer.step()
        self.model.after_step()
        self.history.record(step, row)

    def _image_losses(self, picture: torch.Tensor, env: Mapping[str, float], row: torch.Tensor) -> torch.Tensor | None:
        total = None
        for offset, term in enumerate(self.image_terms):
            if not term.enabled:
                continue
            weight = float(term.weight.evaluate(env))
            if weight == 0:
                continue
            raw = term.raw(picture)
            row[self._image_offset + offset] = raw.detach()
            loss = apply_weight(raw, weight, float(term.stop.evaluate(env)))
            total = loss if total is None else total + loss
        return total

    def _prompt_losses(self, picture: torch.Tensor, step: int, env: Mapping[str, float], row: torch.Tensor) -> None:
        if self.semantic is None:
            return
        scene = self.timeline.scene_of(step)[0]
        blend = self.timeline.blend_of(step)
        factors = [(scene, blend)] + ([(scene - 1, 1.0 - blend)] if blend < 1.0 else [])
        batches = self.semantic.micro_batches(tuple(picture.shape[-2:]), self.generator)
        for batch in batches:
            loss, raws = self.semantic.losses(picture, batch, factors, env)
            (loss / len(batches)).backward()
            for column, raw in raws.items():
                previous = row[column]
                share = raw.detach() / len(batches)
                row[column] = torch.where(torch.isnan(previous), share, previous + share)

    def state(self) -> dict:
        """Optimiser state for backups."""
        return self.optimizer.state_dict()

    def load_state(self, optimizer_state: dict) -> None:
        self.optimizer.load_state_dict(optimizer_state)
