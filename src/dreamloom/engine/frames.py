"""The frame loop: per-frame hooks at each animation frame boundary, then the steps of the frame.

pytti's order at a frame boundary (animation-losses-outputs.md §1.2 step 6): the frame's variables (audio),
video masks, the optimiser reset, then the mode's transform and the stabilization targets. dreamloom runs
registered hooks by :class:`HookStage` — variables, motion, loss targets, video masks — and then resets the
optimiser when ``reset_lr_each_frame`` is on. A still image registers no hook; the reset still happens at
frame boundaries after ``pre_animation_steps``, as in pytti.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dreamloom.engine.history import LossHistory
from dreamloom.engine.step import ImageOptimiser
from dreamloom.images.base import ImageModel
from dreamloom.plan.timeline import Timeline
from dreamloom.plan.variables import StepVariables


class HookStage(enum.IntEnum):
    """When a hook runs at a frame boundary; lower stages run first, equal stages in registration order."""

    VARIABLES = 0
    MOTION = 1
    LOSS_TARGETS = 2
    VIDEO_MASKS = 3


@dataclass(frozen=True)
class FrameStart:
    """A frame boundary: animation frame ``frame`` begins at global step ``step``, at time ``t``."""

    frame: int
    step: int
    t: float


class FrameHook(abc.ABC):
    """Per-frame work (motion, warps, stabilization targets, video-mask frames, audio variables).

    ``name`` keys the hook's state in backups, so it must be unique within a run.
    """

    name: str
    stage: HookStage

    @abc.abstractmethod
    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        """Do this hook's work for the frame. ``variables.at(start.step)`` holds what earlier stages set;
        a variables hook sets the frame's values with ``variables.set_frame_values``."""

    def start_values(self) -> dict[str, float]:
        """Per-frame values a variables hook serves before the first frame boundary (pre-animation steps),
        so that expressions can read them from step 0."""
        return {}

    def state(self) -> dict[str, Any]:
        """What a resumed run needs to continue this hook exactly (empty when it keeps nothing)."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`'s result."""


@dataclass(frozen=True)
class StepReport:
    """Sent to callbacks after each step; ``done`` steps are complete (so ``done - 1`` just ran).

    ``variables`` are the expression variables that step read (``t`` and the per-frame values).
    """

    done: int
    scene: int
    frame: int
    t: float
    model: ImageModel
    history: LossHistory
    variables: Mapping[str, float]


StepCallback = Callable[[StepReport], None]


class FrameLoop:
    """Drives a run: frame hooks at frame boundaries, one optimiser step per global step, callbacks after."""

    def __init__(
        self,
        optimiser: ImageOptimiser,
        timeline: Timeline,
        variables: StepVariables,
        hooks: Iterable[FrameHook] = (),
        *,
        reset_lr_each_frame: bool,
    ) -> None:
        self.optimiser = optimiser
        self.timeline = timeline
        self.variables = variables
        self.hooks = sorted(hooks, key=lambda hook: hook.stage)
        names = [hook.name for hook in self.hooks]
        if len(set(names)) != len(names):
            raise ValueError(f"frame hooks need unique names, got {names}")
        self.reset_lr_each_frame = reset_lr_each_frame
        start_values = {name: value for hook in self.hooks for name, value in hook.start_values().items()}
        if start_values:
            variables.set_frame_values(start_values)

    def run(self, start: int, callbacks: Sequence[StepCallback]) -> None:
        """Run steps ``start`` … end; each callback sees every completed step."""
        for step in range(start, self.timeline.total_steps):
            variables = self.step(step)
            report = StepReport(
                done=step + 1,
                scene=self.timeline.scene_of(step)[0],
                frame=self.timeline.frame_of(step),
                t=self.timeline.time_of(step),
                model=self.optimiser.model,
                history=self.optimiser.history,
                variables=variables,
            )
            for callback in callbacks:
                callback(report)

    def step(self, step: int) -> dict[str, float]:
        """Global step ``step``: the frame's hooks first if a frame begins here, then one optimiser step.
        Returns the variables the step read."""
        if self.timeline.is_frame_boundary(step):
            self.begin_frame(step)
        variables = self.variables.at(step)
        self.optimiser.step(step, variables, self.timeline.blend_of(step))
        return variables

    def begin_frame(self, step: int) -> None:
        """Run the hooks of the frame starting at ``step``, then reset the optimiser if asked."""
        start = FrameStart(self.timeline.frame_of(step), step, self.timeline.time_of(step))
        for hook in self.hooks:
            hook.on_frame(start, self.variables)
        if self.reset_lr_each_frame and step > 0:
            self.optimiser.reset()

    def hook_states(self) -> dict[str, dict[str, Any]]:
        return {hook.name: hook.state() for hook in self.hooks}

    def load_hook_states(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        for hook in self.hooks:
            hook.load_state(states.get(hook.name, {}))
