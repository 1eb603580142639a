"""The engine's view of perception: load the perceptors, embed every scene once, score micro-batches.

Adapts :class:`~dreamloom.perception.guide.SemanticGuide` to the optimiser's :class:`PromptLosses` protocol:
fixed loss-log columns for every prompt of every scene. The settings add two image prompts to every scene:
semantic init (the init image) and semantic stabilization (a picture the animation gives each frame).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass

import torch

from dreamloom.draws import seeded_generator
from dreamloom.dsl.tree import Prompt, Scene, SourceKind
from dreamloom.engine.terms import MicroBatch
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.models.cache import models_dir
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.perceptors import load_perceptors
from dreamloom.plan import Plan, SceneBlend
from dreamloom.sources import load_image

PREPARE_SEED_OFFSET = 1  # image-prompt cutouts use their own stream, so resuming never replays them
#: Loss-log column of the semantic stabilization prompt (it names no file).
STABILIZATION_LABEL = "stabilization (semantic)"


@dataclass(frozen=True)
class SemanticImagePrompts:
    """The image prompts the settings add to every scene (None when their setting is off); frame hooks find
    them in the guide by identity."""

    init: Prompt | None = None
    stabilization: Prompt | None = None


def semantic_image_prompts(plan: Plan) -> SemanticImagePrompts:
    """The semantic init prompt (``semantic_init_weight`` with an init image) and the semantic stabilization
    prompt (``semantic_stabilization_weight``), whose picture is given by the run, not read from a file."""
    init = stabilization = None
    if plan.semantic_init is not None:
        spec = plan.semantic_init
        init = Prompt(SourceKind.IMAGE, plan.settings.init_image, spec.weight, spec.stop, spec.mask,
                      original=f"init image [{plan.settings.init_image}]")
    spec = plan.stabilization.get("semantic_stabilization_weight")
    if spec is not None:
        stabilization = Prompt(SourceKind.IMAGE, "stabilization", spec.weight, spec.stop, spec.mask,
                               original="semantic_stabilization_weight")
    return SemanticImagePrompts(init, stabilization)


def scenes_with_init(plan: Plan, extra: SemanticImagePrompts | None = None) -> tuple[Scene, ...]:
    """The scenes, each with the semantic init and then the semantic stabilization prompt when set.

    dreamloom adds the init prompt to every scene, as the settings documentation says (pytti: the first
    scene only); pytti too adds the stabilization prompt to every scene. ``extra`` defaults to
    :func:`semantic_image_prompts` of the plan.
    """
    extra = semantic_image_prompts(plan) if extra is None else extra
    added = tuple(prompt for prompt in (extra.init, extra.stabilization) if prompt is not None)
    if not added:
        return plan.scenes
    return tuple(Scene(scene.index, scene.prompts + added) for scene in plan.scenes)


class ScenePrompts:
    """Prompt losses of the plan's scenes with fixed loss-log columns; see :class:`~dreamloom.engine.terms.PromptLosses`.

    ``extra`` names the settings' image prompts among the scenes' prompts (for the stabilization hook).
    """

    def __init__(
        self, guide: SemanticGuide, scenes: Sequence[Scene], extra: SemanticImagePrompts | None = None
    ) -> None:
        self.guide = guide
        self.extra = SemanticImagePrompts() if extra is None else extra
        self._columns: list[str] = []
        self._column_of: dict[tuple[int, int], int] = {}
        for scene in scenes:
            seen: dict[str, int] = {}
            for position, prompt in enumerate(scene.prompts):
                label = STABILIZATION_LABEL if prompt is self.extra.stabilization else prompt.label
                seen[label] = seen.get(label, 0) + 1
                name = label if seen[label] == 1 else f"{label} ({seen[label]})"
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
        if not total.requires_grad:  # no prompt acts (an empty scene, or all disabled): still a zero to back-propagate
            total.requires_grad_()
        return total, raws

    def state(self) -> dict[str, Any]:
        return {"masks": self.guide.mask_state()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.guide.load_mask_state(state.get("masks", {}))


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
    guide = SemanticGuide(perceptors, cutout_settings(plan), settings.interpolation_mode, settings.frames_per_second)
    extra = semantic_image_prompts(plan)
    scenes = scenes_with_init(plan, extra)
    pictures = []
    if extra.stabilization is not None:  # pytti: aimed at the init image, else off until the first frame
        init = picture_to_tensor(load_image(settings.init_image, "init_image")) if settings.init_image else None
        pictures.append((extra.stabilization, init))
    guide.prepare(scenes, seeded_generator(settings.seed, PREPARE_SEED_OFFSET), pictures=pictures)
    for perceptor in perceptors:
        perceptor.release_text_tower()
    return ScenePrompts(guide, scenes, extra)


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
