"""The one public way to assemble a run: plan + device → image model, prompt and image losses, optimiser,
frame loop. ``render``, the benchmarks and the tests all build runs here.

Every check that can fail on user input (files, weights, masks) runs while building, before the first step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from dreamloom.draws import seeded_generator
from dreamloom.engine.camera3d import build_camera_terms
from dreamloom.engine.device import resolve_precision
from dreamloom.engine.frames import FrameHook, FrameLoop, StepCallback
from dreamloom.engine.hooks import plan_hooks
from dreamloom.engine.image_terms import build_image_terms, resolve_size
from dreamloom.engine.semantic import build_prompts
from dreamloom.engine.step import ImageOptimiser
from dreamloom.engine.terms import PromptLosses
from dreamloom.engine.video_source import build_video_source_terms, open_video
from dreamloom.images.base import ImageModel
from dreamloom.images.factory import build_image_model
from dreamloom.plan import Plan, StepVariables
from dreamloom.settings.choices import AnimationMode
from dreamloom.sources import load_image


@dataclass
class Run:
    """A built run: everything that changes while it renders, and how to save and restore it."""

    plan: Plan
    model: ImageModel
    prompts: PromptLosses | None
    optimiser: ImageOptimiser
    variables: StepVariables
    loop: FrameLoop

    @property
    def generator(self) -> torch.Generator:
        return self.optimiser.generator

    def run(self, start: int, callbacks: Sequence[StepCallback]) -> None:
        """Render steps ``start`` … end, reporting each finished step to ``callbacks``."""
        self.loop.run(start, callbacks)

    def state(self) -> dict[str, Any]:
        """Everything a resumed run needs, by name (backups store it as it is)."""
        return {
            "image": self.model.state_dict(),
            "optimizer": self.optimiser.state(),
            "generator": self.generator.get_state(),
            "variables": self.variables.state(),
            "hooks": self.loop.hook_states(),
            "prompts": self.prompts.state() if self.prompts is not None else {},
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`'s result (parts a backup lacks keep their built values)."""
        self.model.load_state_dict(state["image"])
        self.optimiser.load_state(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.variables.load_state(state.get("variables", {}))
        self.loop.load_hook_states(state.get("hooks", {}))
        if self.prompts is not None:  # after the hooks: a video mask shown its frame starts a fresh buffer
            self.prompts.load_state(state.get("prompts", {}))


def _prepare_model(plan: Plan, model: ImageModel, init_picture: Image.Image | None, generator: torch.Generator) -> None:
    """The picture a run starts from: the init image or the model's random draw; then the palette settings."""
    settings = plan.settings
    if init_picture is not None:
        model.encode_image(init_picture)
    else:
        model.encode_random(generator)
    if settings.target_palette:
        model.fit_palette(load_image(settings.target_palette, "target_palette"))
    if settings.lock_palette:
        model.lock_palette(True)


def _init_picture(plan: Plan) -> Image.Image | None:
    """The init image; in Video Source mode without one, the video's first frame (as pytti)."""
    settings = plan.settings
    if settings.init_image:
        return load_image(settings.init_image, "init_image")
    if settings.animation_mode is AnimationMode.VIDEO_SOURCE:
        return open_video(settings).picture(0)
    return None


def build_run(
    plan: Plan,
    device: torch.device,
    *,
    prompts: PromptLosses | None = None,
    model: ImageModel | None = None,
    hooks: Iterable[FrameHook] = (),
) -> Run:
    """Assemble the run of ``plan`` on ``device``.

    By default the perceptors and the image model are loaded as the settings say; the benchmarks and tests
    pass their own ``prompts`` (e.g. :func:`build_scene_prompts` over random-weight perceptors) or an
    unprepared ``model`` (e.g. a VQGAN with random weights) instead. The frame hooks are those the plan's
    animation settings ask for (:func:`~dreamloom.engine.hooks.plan_hooks`), then ``hooks``.
    """
    settings = plan.settings
    if settings.seed is None:
        raise ValueError("build_run needs resolved settings (a seed); load them with load_settings")
    init_picture = _init_picture(plan)
    if prompts is None:
        prompts = build_prompts(plan, device, resolve_precision(settings.precision, device))
    generator = seeded_generator(settings.seed)  # on the CPU: same draws on every device, no sync
    if model is None:
        width, height = resolve_size(settings, init_picture)
        model = build_image_model(settings, width, height, device)
    _prepare_model(plan, model, init_picture, generator)
    optimiser = ImageOptimiser(
        model,
        prompts,
        [*build_image_terms(plan, model, init_picture), *build_camera_terms(plan, model),
         *build_video_source_terms(plan, model, init_picture)],
        learning_rate=settings.learning_rate or model.default_lr,
        generator=generator,
        total_steps=plan.timeline.total_steps,
    )
    variables = StepVariables(plan.timeline)
    frame_hooks = [*plan_hooks(plan, model, prompts, optimiser.image_terms), *hooks]
    loop = FrameLoop(optimiser, plan.timeline, variables, frame_hooks,
                     reset_lr_each_frame=settings.reset_lr_each_frame)
    return Run(plan, model, prompts, optimiser, variables, loop)
