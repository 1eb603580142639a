"""Stabilization and video masks in a 2D animation: targets, init losses, masks, re-embedding and resume.

Runs are tiny (16×16, no perceptor or the colour fake), built with ``build_run`` and stepped by hand.
With ``pre_animation_steps: 2`` and ``steps_per_frame: 2``, frame k begins at step 2 + 2k.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.engine.image_terms import PictureTerm
from dreamloom.engine.run import Run, build_run
from dreamloom.engine.semantic import STABILIZATION_LABEL, ScenePrompts, build_scene_prompts
from dreamloom.engine.stabilization import StabilizationHook, stabilization_generator
from dreamloom.errors import InputFileError
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.plan import Plan, StepVariables, build_plan
from dreamloom.settings.loading import load_settings

from mask_videos import black_white_half, write_mask_video
from perception_fakes import colour_perceptor

from .conftest import write_picture

CPU = torch.device("cpu")
PRE = 2  # pre_animation_steps
RED, BLUE = (255, 0, 0), (0, 0, 255)


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)


def plan_of(**values) -> Plan:
    base = dict(ViTB32=False, scenes=" ", width=16, height=16, seed=3, smoothing_weight=0, display_every=0,
                steps_per_scene=8, pre_animation_steps=PRE, steps_per_frame=2, frames_per_second=2, cutouts=4,
                animation_mode="2D", translate_x=3, sampling_mode="nearest", learning_rate=0.05)
    base.update(values)
    return build_plan(load_settings(base))


def colour_prompts(plan: Plan) -> ScenePrompts:
    return build_scene_prompts(plan, [colour_perceptor()])


class Probe(FrameHook):
    """Calls ``look(start)`` at each frame boundary, after the plan's hooks of its stage; keeps what it returns."""

    def __init__(self, name: str, stage: HookStage) -> None:
        self.name = name
        self.stage = stage
        self.look: Callable[[FrameStart], Any] = lambda start: None
        self.seen: list[Any] = []

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        self.seen.append(self.look(start))


def term_of(run: Run, label: str) -> PictureTerm:
    (term,) = [term for term in run.optimiser.image_terms if term.label == label]
    assert isinstance(term, PictureTerm)
    return term


def hook_of(run: Run, name: str) -> FrameHook:
    (hook,) = [hook for hook in run.loop.hooks if hook.name == name]
    return hook


def column(run: Run, label: str) -> torch.Tensor:
    return run.optimiser.history.buffer[:, run.optimiser.columns.index(label)]


def step_until(run: Run, end: int) -> None:
    for step in range(end):
        run.loop.step(step)


def left_half_mask(path: Path, size: tuple[int, int] = (16, 16)) -> Path:
    mask = np.zeros((size[1], size[0]), dtype=np.uint8)
    mask[:, : size[0] // 2] = 255
    Image.fromarray(mask, "L").save(path)
    return path


# --- initial state and retargeting -----------------------------------------------------------------------

def test_direct_stabilization_is_off_before_the_first_frame_then_aims_at_the_moved_picture():
    before, after = Probe("before", HookStage.VARIABLES), Probe("after", HookStage.LOSS_TARGETS)
    run = build_run(plan_of(direct_stabilization_weight=1), CPU, hooks=[before, after])
    term = term_of(run, "stabilization (direct)")
    hook = hook_of(run, "stabilization")
    assert isinstance(hook, StabilizationHook) and not term.enabled
    before.look = lambda start: np.asarray(run.model.to_pil())
    after.look = lambda start: (np.asarray(run.model.to_pil()), np.asarray(hook.picture), term.enabled,
                                float(term.raw(picture_to_tensor(run.model.to_pil()))))
    run.run(0, [])
    assert len(after.seen) == 3
    for unmoved, (moved, target, enabled, loss) in zip(before.seen, after.seen):
        assert np.array_equal(target, moved) and enabled and loss == 0.0
        assert np.array_equal(moved, np.roll(unmoved, 3, axis=1))  # the target is the picture after the motion
    values = column(run, "stabilization (direct)")
    assert bool(values[:PRE].isnan().all()) and bool(values[PRE:].isfinite().all())


@pytest.mark.parametrize(("mode", "animated"), [("2D", True), ("off", False)])
def test_init_losses_stop_at_the_first_frame_when_animating_and_never_when_still(
    tmp_path: Path, mode: str, animated: bool
):
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(16, 16))
    plan = plan_of(animation_mode=mode, init_image="init.png", direct_init_weight=1, semantic_init_weight=1,
                   direct_stabilization_weight=1, perceptors=["demo"])
    run = build_run(plan, CPU, prompts=colour_prompts(plan))
    assert bool(run.loop.hooks) is animated  # a still image registers no hook
    run.run(0, [])
    for label in ("init image (direct)", "[init.png] (semantic)"):
        values = column(run, label)
        assert bool(values[:PRE].isfinite().all())
        assert bool(values[PRE:].isnan().all()) if animated else bool(values[PRE:].isfinite().all())
    assert bool(column(run, "stabilization (direct)").isfinite().all())  # aimed at the init image from the start


def test_without_animation_the_stabilization_targets_stay_the_init_image(tmp_path: Path):
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(16, 16))
    run = build_run(plan_of(animation_mode="off", init_image="init.png", edge_stabilization_weight=1), CPU)
    term = term_of(run, "stabilization (edge)")
    init = picture_to_tensor(Image.open("init.png"))
    run.run(0, [])
    assert term.enabled and float(term.raw(init)) == 0.0


# --- masks --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "inside"), [("[mask.png]", slice(0, 8)), ("[-mask.png]", slice(8, 16))])
@pytest.mark.parametrize("label", ["stabilization (direct)", "stabilization (edge)"])
def test_a_masked_stabilization_weight_acts_only_inside_its_mask(
    tmp_path: Path, written: str, inside: slice, label: str
):
    left_half_mask(tmp_path / "mask.png")
    run = build_run(plan_of(direct_stabilization_weight=f"1_{written}", edge_stabilization_weight=f"1_{written}"), CPU)
    step_until(run, PRE + 1)
    picture = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0), requires_grad=True)
    term_of(run, label).raw(picture).backward()
    pull = picture.grad.abs().sum(dim=(0, 1, 2))  # per column
    outside = [column for column in range(16) if not inside.start - 1 <= column <= inside.stop]
    assert bool((pull[inside] > 0).all())
    assert float(pull[outside].abs().max()) == 0.0  # edges reach one pixel past the mask's border, no farther


def four_frames(path: Path) -> tuple[Path, list[torch.Tensor]]:
    """A 4-frame mask video (black, white, left half, right half) and its frames as [16, 16] tensors."""
    frames = black_white_half()
    frames.append(255 - frames[2])
    return write_mask_video(path, frames), [torch.from_numpy(frame).float() / 255 for frame in frames]


@pytest.mark.parametrize(("stride", "shown"), [(1, [1, 2, 3, 3]), (2, [2, 3, 3, 3])])
@pytest.mark.parametrize("inverted", [False, True])
def test_a_loss_video_mask_shows_frame_k_plus_one_times_the_stride_and_holds_the_last(
    tmp_path: Path, stride: int, shown: list[int], inverted: bool
):
    _, frames = four_frames(tmp_path / "m.mp4")
    probe = Probe("probe", HookStage.VIDEO_MASKS)
    written = f"1_[{'-' if inverted else ''}m.mp4]"
    plan = plan_of(direct_stabilization_weight=written, frame_stride=stride, steps_per_scene=10,
                   frames_per_second=12)  # the mask video's own rate: frame n is its n-th frame
    run = build_run(plan, CPU, hooks=[probe])
    mask = term_of(run, "stabilization (direct)").mask
    expected = [1 - frame if inverted else frame for frame in frames]
    assert torch.equal(mask.tensor[0, 0], expected[0])  # frame 0 before the first frame boundary
    probe.look = lambda start: mask.tensor[0, 0].clone()
    run.run(0, [])
    assert [torch.equal(seen, expected[index]) for seen, index in zip(probe.seen, shown)] == [True] * 4


def test_a_loss_video_mask_of_another_size_is_resized_bilinearly_to_the_picture(tmp_path: Path):
    """Columns alternating black and white, halved: each picture column is half of a black and a white one."""
    stripes = np.zeros((16, 16), dtype=np.uint8)
    stripes[:, ::2] = 255
    write_mask_video(tmp_path / "m.mp4", [stripes])
    run = build_run(plan_of(edge_stabilization_weight="1_[m.mp4]", width=8, height=8), CPU)
    assert term_of(run, "stabilization (edge)").mask.tensor[0, 0].tolist() == [[0.5] * 8] * 8


def test_an_inverted_prompt_video_mask_follows_the_frames_inverted(tmp_path: Path):
    _, frames = four_frames(tmp_path / "m.mp4")
    plan = plan_of(scenes="red:1_[-m.mp4]", perceptors=["demo"], frames_per_second=12)  # the video's rate
    probe = Probe("probe", HookStage.VIDEO_MASKS)
    prompts = colour_prompts(plan)
    run = build_run(plan, CPU, prompts=prompts, hooks=[probe])
    ((_, mask),) = prompts.guide.video_masks
    assert torch.equal(mask.mask.float(), 1 - frames[0])
    probe.look = lambda start: mask.mask.float().clone()
    run.run(0, [])
    assert [torch.equal(seen, 1 - frames[index]) for seen, index in zip(probe.seen, [1, 2, 3])] == [True] * 3


def test_video_masks_keep_their_first_frame_without_animation(tmp_path: Path):
    _, frames = four_frames(tmp_path / "m.mp4")
    write_picture(tmp_path / "m.png", [RED], size=(16, 16))
    run = build_run(plan_of(animation_mode="off", direct_image_prompts="m.png:1_[m.mp4]", steps_per_scene=6), CPU)
    run.run(0, [])
    assert run.loop.hooks == [] and torch.equal(term_of(run, "m.png (direct)").mask.tensor[0, 0], frames[0])


# --- semantic stabilization ---------------------------------------------------------------------------------

def test_the_semantic_stabilization_prompt_is_re_embedded_from_the_moved_picture_in_every_scene():
    plan = plan_of(scenes="red || green", perceptors=["demo"], semantic_stabilization_weight=1, steps_per_scene=6)
    prompts = colour_prompts(plan)
    assert prompts.columns == ["red", STABILIZATION_LABEL, "green"]
    stale, fresh = Probe("stale", HookStage.MOTION), Probe("fresh", HookStage.LOSS_TARGETS)
    run = build_run(plan, CPU, prompts=prompts, hooks=[stale, fresh])

    def distance(start: FrameStart) -> float:
        """The stabilization prompt's raw loss on the current picture, with the cutouts of its embedding."""
        picture = picture_to_tensor(run.model.to_pil())
        draws = prompts.guide.micro_batches(stabilization_generator(3, start.frame), (16, 16))[0]
        scene = plan.timeline.scene_of(start.step)[0]
        return float(prompts.guide.losses_for(picture, draws, scene, {"t": start.t})[-1].raw)

    stale.look = fresh.look = distance
    run.run(0, [])
    assert math.isnan(stale.seen[0])  # off until the first frame (no init image)
    assert fresh.seen == pytest.approx([0.7] * 5, abs=1e-6)  # distance 0 (+ pytti's image-prompt offset 0.7)
    assert all(value > 0.7 + 1e-3 for value in stale.seen[1:])  # last frame's target, before re-embedding
    values = column(run, STABILIZATION_LABEL)
    assert bool(values[:PRE].isnan().all()) and bool(values[PRE:].isfinite().all())  # both scenes log it


def test_the_semantic_stabilization_prompt_starts_from_the_init_image(tmp_path: Path):
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(16, 16))
    plan = plan_of(init_image="init.png", semantic_stabilization_weight=1, perceptors=["demo"])
    run = build_run(plan, CPU, prompts=colour_prompts(plan))
    step_until(run, PRE)
    assert bool(column(run, STABILIZATION_LABEL)[:PRE].isfinite().all())


# --- resume ---------------------------------------------------------------------------------------------------

def test_a_run_resumed_mid_animation_aims_at_the_same_targets(tmp_path: Path):
    four_frames(tmp_path / "m.mp4")
    plan = plan_of(scenes="red || green", perceptors=["demo"], direct_stabilization_weight="1_[m.mp4]",
                   edge_stabilization_weight=2, semantic_stabilization_weight=1, translate_x=1.5, steps_per_scene=6)
    first = build_run(plan, CPU, prompts=colour_prompts(plan))
    snapshots: list[dict[str, Any]] = []
    first.run(0, [lambda report: snapshots.append(copy.deepcopy(first.state())) if report.done == 7 else None])
    resumed = build_run(plan, CPU, prompts=colour_prompts(plan))
    resumed.load_state(snapshots[0])
    resumed.run(7, [])
    assert torch.equal(first.model.decode(), resumed.model.decode())
    ours, theirs = first.optimiser.history.buffer[7:], resumed.optimiser.history.buffer[7:]
    assert torch.equal(ours.nan_to_num(-1), theirs.nan_to_num(-1))


# --- errors and warnings ----------------------------------------------------------------------------------

def test_a_missing_stabilization_mask_video_names_the_setting_and_file():
    with pytest.raises(InputFileError, match=r"^direct_stabilization_weight: the file .*nowhere\.mp4 does not exist"):
        build_run(plan_of(direct_stabilization_weight="1_[nowhere.mp4]"), CPU)


def test_corrupt_mask_videos_name_the_setting_or_prompt_and_file(tmp_path: Path):
    (tmp_path / "bad.mp4").write_bytes(b"no frames here")
    with pytest.raises(InputFileError, match=r"^edge_stabilization_weight: the video bad\.mp4 cannot be opened"):
        build_run(plan_of(edge_stabilization_weight="1_[bad.mp4]"), CPU)
    with pytest.raises(InputFileError, match=r"^prompt 'red:1_\[bad\.mp4\]': the video bad\.mp4 cannot be opened"):
        colour_prompts(plan_of(scenes="red:1_[bad.mp4]", perceptors=["demo"]))


def test_depth_and_flow_stabilization_warn_once_that_2d_ignores_them(caplog):
    with caplog.at_level(logging.WARNING):
        run = build_run(plan_of(depth_stabilization_weight=1, flow_stabilization_weight="0.5"), CPU)
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 2
    assert "depth_stabilization_weight is set but has no effect with animation_mode: 2D" in warned[0]
    assert "flow_stabilization_weight" in warned[1]
    assert [hook.name for hook in run.loop.hooks] == ["motion_2d"]


def test_stabilization_stream_takes_pyttis_negative_seeds_as_torch_does():
    """A negative seed is torch's seed + 2**64; its re-embedding stream is that seed's and differs per frame."""
    negative = stabilization_generator(-4854551145582748953, 2).get_state()
    assert torch.equal(negative, stabilization_generator(2**64 - 4854551145582748953, 2).get_state())
    assert not torch.equal(negative, stabilization_generator(-4854551145582748953, 3).get_state())
