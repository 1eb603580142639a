"""The engine's view of perception: load the perceptors, embed every scene once, score micro-batches.

Adapts :class:`~dreamloom.perception.guide.SemanticGuide` to the loop's :class:`SemanticLosses` protocol:
fixed loss-log columns, and scene blending during ``interpolation_steps`` on the same cutouts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from dreamloom.dsl.tree import Prompt, Scene, SourceKind
from dreamloom.perception.cutouts import BorderMode, CutoutSettings
from dreamloom.models.cache import models_dir
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.perceptors import load_perceptors
from dreamloom.plan import Plan
from dreamloom.settings.choices import InterpolationMode

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


class SceneGuide:
    """Prompt losses of the plan's scenes; see :class:`dreamloom.engine.terms.SemanticLosses`."""

    def __init__(self, guide: SemanticGuide, scenes: Sequence[Scene], mode: InterpolationMode = InterpolationMode.LOSS) -> None:
        self.guide = guide
        self.mode = mode
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

    def micro_batches(self, image_size: tuple[int, int], generator: torch.Generator) -> Sequence[object]:
        return self.guide.micro_batches(generator, image_size)

    def losses(
        self,
        image: torch.Tensor,
        cutouts: object,
        scene_factors: Sequence[tuple[int, float]],
        env: Mapping[str, float],
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        if self.mode is InterpolationMode.EMBEDDING and len(scene_factors) == 2:
            (scene, blend), (previous, _) = scene_factors
            requests: list[tuple[int, tuple[int, float] | None]] = [(scene, (previous, blend))]
            factors = [1.0]
        else:
            requests = [(scene, None) for scene, _ in scene_factors]
            factors = [factor for _, factor in scene_factors]
        total = torch.zeros((), device=image.device)
        raws: dict[int, torch.Tensor] = {}
        for (scene, _), factor, terms in zip(requests, factors, self.guide.blended_losses(image, cutouts, requests, env)):
            for position, term in enumerate(terms):
                total = total + factor * term.weighted
                raws.setdefault(self._column_of[(scene, position)], term.raw)
        return total, raws


def cutout_settings(plan: Plan) -> CutoutSettings:
    settings = plan.settings
    return CutoutSettings(
        cutouts=settings.cutouts,
        cut_pow=settings.cut_pow,
        cutout_border=settings.cutout_border,
        border_mode=BorderMode(settings.border_mode.value),
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
    )


def build_scene_guide(plan: Plan, perceptors: Sequence[Perceptor]) -> SceneGuide:
    """Embed every prompt of the plan's scenes with ``perceptors`` (in order), then free their text towers."""
    settings = plan.settings
    assert settings.seed is not None
    guide = SemanticGuide(perceptors, cutout_settings(plan))
    scenes = scenes_with_init(plan)
    guide.prepare(scenes, torch.Generator().manual_seed(settings.seed + PREPARE_SEED_OFFSET))
    for perceptor in perceptors:
        perceptor.release_text_tower()
    return SceneGuide(guide, scenes, settings.interpolation_mode)


def build_semantic(plan: Plan, device: torch.device, precision: torch.dtype) -> SceneGuide | None:
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
    return build_scene_guide(plan, perceptors)
