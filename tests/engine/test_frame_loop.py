"""The frame loop: hook order, the frames hooks see, variables, state for backups, and the still-image case."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest
import torch

from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.engine.run import Run, build_run
from dreamloom.plan import StepVariables, build_plan
from dreamloom.settings.loading import load_settings

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Tiny tensors: one thread is fastest."""


class Recorder(FrameHook):
    """Records, per frame, its name, the frame start and the variables it was given."""

    def __init__(self, name: str, stage: HookStage, log: list[tuple[str, FrameStart, dict[str, float]]]) -> None:
        self.name = name
        self.stage = stage
        self.log = log
        self.frames_seen = 0

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        self.log.append((self.name, start, variables.at(start.step)))
        self.frames_seen += 1

    def state(self) -> dict[str, Any]:
        return {"frames_seen": torch.tensor(self.frames_seen)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.frames_seen = int(state.get("frames_seen", 0))


class Beat(FrameHook):
    """A variables hook: ``beat`` is the frame index times ten (as an audio band would be)."""

    name = "beat"
    stage = HookStage.VARIABLES

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        variables.set_frame_values({"beat": 10.0 * start.frame})


def plan_of(**values):
    base = dict(ViTB32=False, scenes=" ", width=8, height=8, seed=3, smoothing_weight=1, display_every=0,
                steps_per_scene=12, pre_animation_steps=0, steps_per_frame=4, frames_per_second=2)
    base.update(values)
    return build_plan(load_settings(base))


def run_with(hooks=(), **values) -> Run:
    return build_run(plan_of(**values), CPU, hooks=hooks)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # (pre_animation_steps, steps_per_frame, scenes × steps_per_scene) → (frame, step) of each frame start
        (dict(pre_animation_steps=0, steps_per_frame=4, steps_per_scene=12), [(0, 0), (1, 4), (2, 8)]),
        (dict(pre_animation_steps=3, steps_per_frame=4, steps_per_scene=12), [(0, 3), (1, 7), (2, 11)]),
        (dict(pre_animation_steps=5, steps_per_frame=1, steps_per_scene=8), [(0, 5), (1, 6), (2, 7)]),
        (dict(pre_animation_steps=12, steps_per_frame=4, steps_per_scene=12), []),  # all pre-animation
        (dict(pre_animation_steps=2, steps_per_frame=5, steps_per_scene=6, scenes=" || "),  # frames cross scenes
         [(0, 2), (1, 7)]),
    ],
)
def test_hooks_see_each_frame_start_once_with_pyttis_frame_index_and_t(values, expected):
    log: list = []
    run = run_with([Recorder("r", HookStage.MOTION, log)], **values)
    run.run(0, [])
    assert [(start.frame, start.step) for _, start, _ in log] == expected
    fps_steps = values["steps_per_frame"] * 2  # frames_per_second 2
    for _, start, env in log:
        assert start.t == pytest.approx((start.step - values["pre_animation_steps"]) / fps_steps)
        assert start.t == pytest.approx(start.frame / 2) and env["t"] == start.t


def test_hooks_run_by_stage_then_in_registration_order_and_the_optimiser_resets_after_them():
    log: list = []
    optimisers: list = []

    class Masks(Recorder):
        def on_frame(self, start, variables):
            super().on_frame(start, variables)
            optimisers.append(run.optimiser.optimizer)

    hooks = [Masks("masks", HookStage.VIDEO_MASKS, log), Recorder("warp", HookStage.MOTION, log),
             Recorder("targets", HookStage.LOSS_TARGETS, log), Recorder("zoom", HookStage.MOTION, log),
             Recorder("audio", HookStage.VARIABLES, log)]
    run = run_with(hooks, steps_per_scene=8, steps_per_frame=4)
    before = run.optimiser.optimizer
    run.loop.begin_frame(4)
    assert [name for name, _, _ in log] == ["audio", "warp", "zoom", "targets", "masks"]
    assert optimisers == [before]  # hooks still see the frame's old optimiser ...
    assert run.optimiser.optimizer is not before  # ... which is replaced after them (reset_lr_each_frame)


def test_variables_set_by_a_hook_reach_later_hooks_and_every_step_of_the_frame():
    log: list = []
    seen: list[float] = []
    run = run_with([Recorder("motion", HookStage.MOTION, log), Beat()])
    weight = run.optimiser.image_terms[0]
    original = weight.raw

    def recording_raw(picture):
        seen.append(run.variables.at(0)["beat"])
        return original(picture)

    weight.raw = recording_raw
    run.run(0, [])
    assert [env["beat"] for _, _, env in log] == [0.0, 10.0, 20.0]
    assert seen == [0.0] * 4 + [10.0] * 4 + [20.0] * 4


def test_a_still_image_run_registers_and_calls_no_hook():
    run = run_with(animation_mode="off")
    assert run.loop.hooks == []
    steps: list[int] = []
    run.run(0, [lambda report: steps.append(report.done)])
    assert steps == list(range(1, 13))


def test_hook_names_must_be_unique():
    with pytest.raises(ValueError, match="unique names"):
        run_with([Recorder("same", HookStage.MOTION, []), Recorder("same", HookStage.VARIABLES, [])])


def test_run_state_carries_hook_state_and_variables_to_a_resumed_run():
    log: list = []
    first = run_with([Recorder("motion", HookStage.MOTION, log), Beat()])
    first.run(0, [])
    torch.rand(3, generator=first.generator)  # as cutouts would: the state now differs from a fresh run's
    state = first.state()
    assert set(state) == {"image", "optimizer", "generator", "variables", "hooks", "prompts"}
    assert state["variables"] == {"beat": 20.0} and int(state["hooks"]["motion"]["frames_seen"]) == 3

    second = run_with([Recorder("motion", HookStage.MOTION, []), Beat()])
    second.load_state(state)
    assert second.loop.hooks[1].frames_seen == 3  # sorted by stage: beat (variables) first, then motion
    assert second.variables.at(5)["beat"] == 20.0
    assert torch.equal(second.model.tensor, first.model.tensor)
    assert torch.equal(second.generator.get_state(), first.generator.get_state())


def test_a_resumed_run_continues_exactly_where_an_uninterrupted_one_goes():
    """Half the steps, a state round trip, the other half: the same picture as all steps at once."""
    whole = run_with(steps_per_scene=12)
    whole.run(0, [])
    first = run_with(steps_per_scene=12)
    snapshots: list[dict] = []
    first.run(0, [lambda report: snapshots.append(copy.deepcopy(first.state())) if report.done == 6 else None])
    resumed = run_with(steps_per_scene=12)
    resumed.load_state(snapshots[0])
    resumed.run(6, [])
    assert torch.equal(resumed.model.tensor, whole.model.tensor)


def test_reports_give_each_steps_scene_frame_and_t_and_the_history_has_one_row_per_step():
    run = run_with(scenes=" || ", steps_per_scene=6, pre_animation_steps=2, steps_per_frame=4)
    reports = []
    run.run(0, [reports.append])
    assert [(r.done, r.scene, r.frame) for r in reports] == [
        (1, 0, -1), (2, 0, -1), (3, 0, 0), (4, 0, 0), (5, 0, 0), (6, 0, 0),
        (7, 1, 1), (8, 1, 1), (9, 1, 1), (10, 1, 1), (11, 1, 2), (12, 1, 2)]
    assert [r.t for r in reports] == pytest.approx([(step - 2) / 8 for step in range(12)])
    smoothing = [row[0] for row in run.optimiser.history.rows(0, 12)]
    assert len(set(smoothing)) == 12  # each step's own loss, in its own row


@pytest.mark.parametrize(("reset", "fresh_at"), [(True, [1, 5, 9]), (False, [])])
def test_adam_restarts_at_every_frame_boundary_after_step_0_only_when_asked(reset, fresh_at):
    run = run_with(pre_animation_steps=1, steps_per_frame=4, reset_lr_each_frame=reset)
    seen = [run.optimiser.optimizer]
    fresh = []

    def record(report) -> None:
        if run.optimiser.optimizer is not seen[-1]:
            fresh.append(report.done - 1)
            seen.append(run.optimiser.optimizer)

    run.run(0, [record])
    assert fresh == fresh_at


def test_a_hook_missing_from_a_backup_is_given_an_empty_state():
    hook = Recorder("new", HookStage.MOTION, [])
    hook.frames_seen = 7
    run = run_with([hook])
    state = run.state()
    del state["hooks"]["new"]
    run.load_state(state)
    assert hook.frames_seen == 0
