"""The engine's view of perception: load the perceptors, embed every scene once, score micro-batches.

Adapts :class:`~dreamloom.perception.guide.SemanticGuide` to the optimiser's :class:`PromptLosses` protocol:
fixed loss-log columns for every prompt of every scene.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from dreamloom.dsl.tree import Prompt, Scene, SourceKind
from dreamloom.engine.terms import MicroBatch
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.models.cache import models_dir
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.perceptors import load_perceptors
from dreamloom.plan import Plan, SceneBlend

PREPARE_SEED_OFFSET = 1  # image-prompt cutouts use their own stream, so resuming never replays them


def scenes_with_init(plan: Plan) -> tuple[Scene, ...]:
    """The scenes, each with the semantic init prompt added when ``semantic_init_weight`` is set.

    dreamloom adds it to every scene, as the settings documentation says (pytti: the first scene only).
    """
    spec = plan.semantic_init
    if spec is None:
        return plan.scenes
    init = Prompt(SourceKind.IMAGE, plan.settings.init_image, spec.weight, spec.stop, spec.mask,
                  original=f"init image [{plan.settings.init_image}]")
    return tuple(Scene(scene.index, scene.prompts + (init,)) for scene in plan.scenes)


class ScenePrompts:
    """Prompt losses of the plan's scenes with fixed loss-log columns; see :class:`~dreamloom.engine.terms.PromptLosses`."""

    def __init__(self, guide: SemanticGuide, scenes: Sequence[Scene]) -> None:
        self.guide = guide
        self._columns: list[str] = []
        self._column_of: dict[tuple[int, int], int] = {}
        for scene in scenes:
            seen: dict[str, int] = {}
            for position, prompt in enumerate(scene.prompts):
                seen[prompt.label] = seen.get(prompt.label, 0) + 1
                name = prompt.label if seen[prompt.label] == 1 else f"{prompt.label} ({seen[prompt.label]})"
                if name not in self._columns:
                    self._columns.append(name)
                self._column_of[(scene.index, position)] = self._columns.index(name)

    @property
    def columns(self) -> list[str]:
        return self._columns

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> Sequence[MicroBatch]:
        return self.guide.micro_batches(generator, image_hw)

    def losses(
        self, image: torch.Tensor, batch: MicroBatch, blend: SceneBlend, env: Mapping[str, float]
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        total = torch.zeros((), device=image.device)
        raws: dict[int, torch.Tensor] = {}
        for scene, terms in self.guide.scene_losses(image, batch, blend, env):
            for position, term in enumerate(terms):
                total = total + term.weighted
                raws.setdefault(self._column_of[(scene, position)], term.raw)
        return total, raws


def cutout_settings(plan: Plan) -> CutoutSettings:
    settings = plan.settings
    return CutoutSettings(
        cutouts=settings.cutouts,
        cut_pow=settings.cut_pow,
        cutout_border=settings.cutout_border,
        border_mode=settings.border_mode,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
    )


def build_scene_prompts(plan: Plan, perceptors: Sequence[Perceptor]) -> ScenePrompts:
    """Embed every prompt of the plan's scenes with ``perceptors`` (in order), then free their text towers."""
    settings = plan.settings
    assert settings.seed is not None
    guide = SemanticGuide(perceptors, cutout_settings(plan), settings.interpolation_mode)
    scenes = scenes_with_init(plan)
    guide.prepare(scenes, torch.Generator().manual_seed(settings.seed + PREPARE_SEED_OFFSET))
    for perceptor in perceptors:
        perceptor.release_text_tower()
    return ScenePrompts(guide, scenes)


def build_prompts(plan: Plan, device: torch.device, precision: torch.dtype) -> ScenePrompts | None:
    """Load the plan's perceptors and embed every prompt; None when no perceptor is selected."""
    settings = plan.settings
    names = settings.perceptor_names()
    if not names:
        return None
    perceptors = load_perceptors(
        names,
        device=device,
        precision=precision,
        cache_dir=models_dir(settings.models_parent_dir),
    )
    return build_scene_prompts(plan, perceptors)
