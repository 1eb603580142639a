"""Gradient accumulation: the same cutouts in K micro-batches give the gradient and the logged raw losses of
one full batch (``ImageOptimiser.prompt_losses`` divides each micro-batch's loss and raws by K)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from dreamloom.dsl.grammar import parse_scenes
from dreamloom.engine.semantic import ScenePrompts
from dreamloom.engine.step import ImageOptimiser
from dreamloom.images.palette import LimitedPaletteImage
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.views import PerceptorDraw
from dreamloom.plan import SceneBlend

from perception_fakes import colour_perceptor


class _SplitDraw(ScenePrompts):
    """Draws the step's six cutouts once and hands them over in ``parts`` consecutive micro-batches."""

    parts = 1

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> list[list[PerceptorDraw]]:
        (full,) = super().micro_batches(generator, image_hw)
        (draw,) = full
        cutouts = draw.cutouts.chunk(self.parts)
        augments = [dataclasses.replace(draw.augment, **{f.name: getattr(draw.augment, f.name).chunk(self.parts)[k]
                                                         for f in dataclasses.fields(draw.augment)})
                    for k in range(self.parts)]
        return [[PerceptorDraw(c, a)] for c, a in zip(cutouts, augments, strict=True)]


def _accumulated(parts: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The picture's gradient and the loss row after ``prompt_losses`` with the cutouts in ``parts`` batches."""
    scenes = parse_scenes("red | blue:-0.5 | green:2_l")
    guide = SemanticGuide([colour_perceptor()], CutoutSettings(cutouts=6))
    guide.prepare(scenes, torch.Generator().manual_seed(0))
    prompts = _SplitDraw(guide, scenes)
    prompts.parts = parts
    optimiser = ImageOptimiser(LimitedPaletteImage(2, 2), prompts, [], learning_rate=0.1,
                               generator=torch.Generator().manual_seed(7), total_steps=1)
    picture = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3), dtype=torch.float64).float()
    picture.requires_grad_(True)
    row = torch.full((len(optimiser.columns),), math.nan)
    optimiser.prompt_losses(picture, SceneBlend(0), {"t": 0.0}, row)
    assert picture.grad is not None
    return picture.grad, row


@pytest.mark.parametrize("parts", [2, 3, 6])
def test_micro_batches_match_one_full_batch(single_thread: None, parts: int) -> None:
    full_grad, full_row = _accumulated(1)
    grad, row = _accumulated(parts)
    assert float(full_grad.abs().max()) > 0 and not torch.isnan(full_row[:3]).any()
    assert torch.allclose(grad, full_grad, rtol=1e-4, atol=1e-7)
    assert torch.allclose(row, full_row, rtol=1e-5, atol=1e-7, equal_nan=True)
