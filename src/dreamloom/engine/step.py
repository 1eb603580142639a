"""The optimisation step: one Adam step on the image model, reporting nothing and writing no file.

Order per step follows pytti (prompts-and-perceptors.md §6.2): decode; image losses; model regularisers;
prompt losses per micro-batch; backward; optimiser step; the model's ``after_step``. The picture is decoded
once per step: losses run on a detached copy whose gradient is pushed back through the decoder at the end,
so each micro-batch's perceptor graph is freed by its own backward.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dreamloom.engine.history import LossHistory
from dreamloom.engine.terms import ImageLossTerm, PromptLosses
from dreamloom.images.base import ImageModel
from dreamloom.losses.weighting import apply_weight
from dreamloom.plan.timeline import SceneBlend


class ImageOptimiser:
    """Owns the Adam optimiser, the random generator and the loss history of a run."""

    def __init__(
        self,
        model: ImageModel,
        prompts: PromptLosses | None,
        image_terms: Sequence[ImageLossTerm],
        *,
        learning_rate: float,
        generator: torch.Generator,
        total_steps: int,
    ) -> None:
        self.model = model
        self.prompts = prompts
        self.image_terms = list(image_terms)
        self.learning_rate = learning_rate
        self.generator = generator
        self.optimizer = self._new_optimizer()
        device = next(model.parameters()).device
        prompt_columns = prompts.columns if prompts is not None else []
        regularizer_columns = list(model.regularizers())
        self.columns = prompt_columns + [term.label for term in self.image_terms] + regularizer_columns
        self.history = LossHistory(self.columns, total_steps, device)
        self._image_offset = len(prompt_columns)
        self._regularizer_offset = self._image_offset + len(self.image_terms)

    def _new_optimizer(self) -> torch.optim.Adam:
        return torch.optim.Adam(self.model.parameters(), lr=self.learning_rate)

    def reset(self) -> None:
        """A fresh Adam (moments lost), as pytti does at frame boundaries with ``reset_lr_each_frame``."""
        self.optimizer = self._new_optimizer()

    def step(self, step: int, env: Mapping[str, float], blend: SceneBlend) -> None:
        """One optimisation step at global step ``step`` with the expression variables ``env``."""
        self.optimizer.zero_grad(set_to_none=True)
        picture = self.model.decode_training()
        leaf = picture.detach().requires_grad_(True)
        row = torch.full((len(self.columns),), math.nan, device=picture.device)

        direct = self.image_losses(leaf, env, row)
        if direct is not None:
            direct.backward()
        self.prompt_losses(leaf, blend, env, row)

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

    def image_losses(self, picture: torch.Tensor, env: Mapping[str, float], row: torch.Tensor) -> torch.Tensor | None:
        """The weighted sum of the enabled image terms (None when none runs); raw values go into ``row``."""
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

    def prompt_losses(self, picture: torch.Tensor, blend: SceneBlend, env: Mapping[str, float], row: torch.Tensor) -> None:
        """Back-propagate the prompt losses into ``picture`` micro-batch by micro-batch; raw values into ``row``."""
        if self.prompts is None:
            return
        batches = self.prompts.micro_batches(self.generator, (picture.shape[-2], picture.shape[-1]))
        for batch in batches:
            loss, raws = self.prompts.losses(picture, batch, blend, env)
            (loss / len(batches)).backward()
            for column, raw in raws.items():
                previous = row[column]
                share = raw.detach() / len(batches)
                row[column] = torch.where(torch.isnan(previous), share, previous + share)

    def state(self) -> dict[str, Any]:
        """Optimiser state for backups."""
        return self.optimizer.state_dict()

    def load_state(self, optimizer_state: dict[str, Any]) -> None:
        """Restore Adam's moments; the learning rate stays this run's, so ``--resume learning_rate=…`` applies."""
        rates = [group["lr"] for group in self.optimizer.param_groups]
        self.optimizer.load_state_dict(optimizer_state)
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
