"""The 2D motion hook: at each frame boundary, evaluate the motion settings and warp the image state.

pytti evaluates ``translate_x``, ``translate_y``, ``rotate_2d``, ``zoom_x_2d`` and ``zoom_y_2d`` once per
frame, at the frame's ``t`` (animation-losses-outputs.md §2.3), as per-frame increments. With nearest
sampling the whole-pixel part of the requested translation moves the picture and the rest is carried to
the next frame (:func:`~dreamloom.animation.carry_translation`); the carry is this hook's state in backups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from dreamloom.animation import Motion2D, SubpixelCarry, Warp2D, carry_translation
from dreamloom.dsl.expressions import Expression
from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.images.base import ImageModel
from dreamloom.plan import StepVariables
from dreamloom.settings.choices import InfillMode, SamplingMode

MOTION_2D_SETTINGS = tuple(field.name for field in dataclasses.fields(Motion2D))


def motion_2d_at(motion: Mapping[str, Expression], env: Mapping[str, float]) -> Motion2D:
    """The 2D motion of a frame: each setting's expression evaluated with the frame's variables."""
    return Motion2D(**{name: float(motion[name].evaluate(env)) for name in MOTION_2D_SETTINGS})


class Motion2DHook(FrameHook):
    """Warps ``model`` by the frame's 2D motion (``animation_mode: 2D``)."""

    name = "motion_2d"
    stage = HookStage.MOTION

    def __init__(self, model: ImageModel, motion: Mapping[str, Expression], sampling: SamplingMode, infill: InfillMode) -> None:
        self.model = model
        self.motion = motion
        self.sampling = sampling
        self.infill = infill
        self.carry = SubpixelCarry()

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        motion, self.carry = carry_translation(motion_2d_at(self.motion, variables.at(start.step)), self.carry, self.sampling)
        self.model.warp_state(Warp2D(motion, self.sampling, self.infill))

    def state(self) -> dict[str, Any]:
        return {"carry": torch.tensor([self.carry.x, self.carry.y], dtype=torch.float64)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if "carry" in state:
            x, y = state["carry"].tolist()
            self.carry = SubpixelCarry(x, y)
