"""The Video Source hook: cut detection, re-encoding or warping, the flow terms and their long-term masks,
resume, and the errors of a missing video."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from depth_fakes import tiny_depth_spec, write_tiny_weights
from PIL import Image
from source_videos import moving_square

from dreamloom.animation import depth_specs
from dreamloom.animation.depth_loading import load_depth_model
from dreamloom.animation.optical_flow import FlowModel
from dreamloom.engine.frames import FrameStart, StepReport
from dreamloom.engine.image_terms import PictureTerm
from dreamloom.engine.run import Run, build_run
from dreamloom.engine.video_source import DEPTH_TERM, FlowTerm, VideoSourceHook
from dreamloom.errors import InputFileError, SettingsError
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.depth import depth_loss
from dreamloom.losses.direct import masked_mse
from dreamloom.plan import Plan, build_plan
from dreamloom.settings.loading import load_settings

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """One torch thread (see tests/conftest.py)."""


def plan_of(video: Path, **values) -> Plan:
    base = {"ViTB32": False, "scenes": " ", "width": 32, "height": 32, "seed": 3, "smoothing_weight": 0, "display_every": 0,
                "steps_per_scene": 8, "pre_animation_steps": 2, "steps_per_frame": 2, "frames_per_second": 12,
                "animation_mode": "Video Source", "video_path": str(video), "optical_flow_model": "dis",
                "sampling_mode": "bilinear", "infill_mode": "smear", "learning_rate": 0.05}
    base.update(values)
    return build_plan(load_settings(base))


class ShotFlow(FlowModel):
    """A known-flow stand-in: no motion between two frames of one shot (similar mean brightness); between
    shots, flows of 50 px both ways, which leave the picture everywhere."""

    differentiable = False

    def estimate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        same_shot = float((a.mean() - b.mean()).abs()) < 0.1
        return torch.full((a.shape[0], 2, *a.shape[-2:]), 0.0 if same_shot else 50.0)


def source_hook(run: Run) -> VideoSourceHook:
    (hook,) = [hook for hook in run.loop.hooks if isinstance(hook, VideoSourceHook)]
    return hook


def start(frame: int) -> FrameStart:
    return FrameStart(frame, 2 + 2 * frame, frame / 12)


def test_a_cut_is_detected_on_the_frame_that_crosses_it_and_nowhere_else(tmp_path: Path):
    """Frame k moves from video frame k to k + 1; the cut is between video frames 4 and 5. Without a cut the
    picture is warped (here by a zero flow: unchanged); on the cut it restarts from the new video frame."""
    run = build_run(plan_of(moving_square(tmp_path / "v.mp4", 8, cut_at=5), reencode_each_frame=False), CPU)
    ours = source_hook(run)
    hook = VideoSourceHook(run.model, ours.frames, ShotFlow(), [], stride=1, reencode=False,
                           sampling=ours.sampling, infill=ours.infill)
    for frame in range(7):
        before = np.asarray(run.model.to_pil(), dtype=np.int16)
        hook.on_frame(start(frame), run.variables)
        after = np.asarray(run.model.to_pil(), dtype=np.int16)
        if frame == 4:
            assert np.abs(after - np.asarray(hook.target_picture(), dtype=np.int16)).max() <= 1
        else:
            assert np.abs(after - before).max() <= 1, frame
    assert hook.cuts == [4]


def test_reencoding_each_frame_shows_the_target_video_frame_and_needs_no_flow(tmp_path: Path):
    run = build_run(plan_of(moving_square(tmp_path / "v.mp4", 6), frame_stride=2), CPU)
    hook = source_hook(run)
    assert hook.flow is None
    hook.on_frame(start(1), run.variables)  # frame 1 aims at video frame (1 + 1)·2 = 4
    expected = hook.frames.picture(4).resize((32, 32), Image.Resampling.LANCZOS)
    assert np.array_equal(np.asarray(hook.target_picture()), np.asarray(expected))
    assert np.abs(np.asarray(run.model.to_pil(), dtype=np.int16) - np.asarray(expected, dtype=np.int16)).max() <= 1


def flow_run(tmp_path: Path) -> tuple[Run, VideoSourceHook, dict[int, torch.Tensor]]:
    """A run with three flow samples (1, 2, 4 frames back) whose flows are zero and whose consistency masks
    are known: the left half for the nearest sample, everything for the others."""
    plan = plan_of(moving_square(tmp_path / "v.mp4", 8), flow_stabilization_weight="1", flow_long_term_samples=2)
    run = build_run(plan, CPU)
    hook = source_hook(run)
    left = torch.zeros(1, 1, 32, 32)
    left[..., :16] = 1
    masks = {1: left, 2: torch.ones(1, 1, 32, 32), 4: torch.ones(1, 1, 32, 32)}
    hook.flows = lambda frame, back: (torch.zeros(1, 2, 32, 32), masks[back])  # type: ignore[method-assign]
    return run, hook, masks


def shown_picture(run: Run, level: int) -> torch.Tensor:
    """Encode a flat picture of grey ``level`` and return what the model shows, as the hook records it."""
    run.model.encode_image(Image.new("RGB", (32, 32), (level, level, level)))
    return torch.from_numpy(np.asarray(run.model.to_pil(), dtype=np.float32)).permute(2, 0, 1)[None] / 255


def test_each_flow_sample_aims_at_the_output_2_to_the_j_frames_back_where_shorter_samples_are_occluded(tmp_path: Path):
    run, hook, masks = flow_run(tmp_path)
    terms = sorted((t for t in run.optimiser.image_terms if isinstance(t, FlowTerm)), key=lambda t: t.back)
    assert [(t.label, t.back) for t in terms] == [
        ("optical flow stabilization (frame -1)", 1), ("optical flow stabilization (frame -2)", 2),
        ("optical flow stabilization (frame -4)", 4)]
    shown = {}
    for frame in range(4):
        shown[frame] = shown_picture(run, 40 * (frame + 1))
        hook.on_frame(start(frame), run.variables)
        assert [t.enabled for t in terms] == [True, frame >= 1, frame >= 3]
    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    right = 1 - masks[1]
    expected = [masked_mse(probe, shown[3], masks[1]), masked_mse(probe, shown[2], right), torch.tensor(0.0)]
    for term, value in zip(terms, expected, strict=True):
        assert torch.allclose(term.raw(probe), value, atol=1e-6), term.label
    assert sorted(hook.outputs) == [0, 1, 2, 3]  # what frame 3 aims at (a resume aims again), and later frames


def test_a_resumed_hook_aims_its_flow_terms_as_the_uninterrupted_one(tmp_path: Path):
    run, hook, _ = flow_run(tmp_path)
    for frame in range(3):
        shown_picture(run, 50 * (frame + 1))
        hook.on_frame(start(frame), run.variables)
    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    before = [float(t.raw(probe)) for t in hook.terms if t.enabled]
    (tmp_path / "again").mkdir()
    _, resumed, _ = flow_run(tmp_path / "again")
    resumed.load_state(hook.state())
    assert [float(t.raw(probe)) for t in resumed.terms if t.enabled] == pytest.approx(before, abs=1e-7)
    assert resumed.frame == 2 and np.array_equal(np.asarray(resumed.target_picture()), np.asarray(hook.target_picture()))


@pytest.mark.parametrize("content", [None, b"not a video"])
def test_a_missing_or_corrupt_video_is_one_error_naming_video_path(tmp_path: Path, content: bytes | None):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=r"^video_path: .*clip\.mp4"):
        build_run(plan_of(path), CPU)


def test_video_source_without_a_video_path_is_a_settings_error(tmp_path: Path):
    with pytest.raises(SettingsError, match="^video_path: animation_mode: Video Source needs a video"):
        build_run(plan_of(tmp_path, video_path=""), CPU)


def test_flows_go_from_the_target_frame_back_to_the_earlier_one(tmp_path: Path):
    """The square moves 3 px right per video frame; from frame 3 (the target of output frame 2) back to
    frame 2 its pixels are 3 px to the left: flow x ≈ −3 inside the square, reliable there (DIS)."""
    plan = plan_of(moving_square(tmp_path / "v.mp4", 6), width=64, height=64, flow_stabilization_weight="1")
    hook = source_hook(build_run(plan, CPU))
    flow, mask = hook.flows(2, 1)
    inside = (slice(24, 36), slice(14, 26))  # the square spans x 13…36, y 20…43 in video frame 3
    assert flow.shape == (1, 2, 64, 64) and mask.shape == (1, 1, 64, 64)
    assert abs(float(flow[0, 0][inside].median()) + 3) < 0.5 and abs(float(flow[0, 1][inside].median())) < 0.5
    assert float(mask[0, 0][inside].mean()) > 0.9


def test_a_flow_weight_mask_multiplies_the_consistency_mask_and_inverts(tmp_path: Path):
    """``1_[-top.png]``: the flow loss acts where the picture is reliable and the mask is dark (bottom half)."""
    top = np.zeros((32, 32), dtype=np.uint8)
    top[:16] = 255
    Image.fromarray(top, "L").save(tmp_path / "top.png")
    plan = plan_of(moving_square(tmp_path / "v.mp4", 4), flow_stabilization_weight=f"1_[-{tmp_path / 'top.png'}]",
                   flow_long_term_samples=0)
    (term,) = [t for t in build_run(plan, CPU).optimiser.image_terms if isinstance(t, FlowTerm)]
    left = torch.zeros(1, 1, 32, 32)
    left[..., :16] = 1
    target = torch.full((1, 3, 32, 32), 0.5)
    term.aim(target, left)
    probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    bottom_left = torch.zeros(1, 1, 32, 32)
    bottom_left[..., 16:, :16] = 1
    assert term.enabled and torch.allclose(term.raw(probe), masked_mse(probe, target, bottom_left), atol=1e-7)


def test_depth_stabilization_aims_at_the_depth_of_each_target_video_frame(tmp_path: Path, monkeypatch):
    """Frame 0 aims at video frame 0's depth (init), frame k at video frame k + 1's (tiny random depth model);
    a flat depth model is refused."""
    spec = tiny_depth_spec()
    monkeypatch.setitem(depth_specs._SPECS, spec.name, spec)
    write_tiny_weights(tmp_path / "models", spec)
    video = moving_square(tmp_path / "v.mp4", 4)
    run = build_run(plan_of(video, depth_stabilization_weight="1", depth_model="depth-anything-v2-small",
                            models_parent_dir=str(tmp_path / "models"), reencode_each_frame=False), CPU)
    (term,) = [t for t in run.optimiser.image_terms if isinstance(t, PictureTerm) and t.label == DEPTH_TERM]
    estimator = load_depth_model(spec.name, tmp_path / "models", device=CPU)
    hook = source_hook(run)

    def expected(index: int) -> torch.Tensor:
        picture = picture_to_tensor(hook.frames.picture(index), (32, 32))
        with torch.inference_mode():
            target = estimator(picture).clone()
        probe = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
        return depth_loss(estimator(probe), target), probe

    value, probe = expected(0)
    assert term.enabled and torch.allclose(term.raw(probe), value, atol=1e-6)
    run.loop.begin_frame(2)  # frame 0: the stabilization hook aims at video frame 1
    value, probe = expected(1)
    assert torch.allclose(term.raw(probe), value, atol=1e-6)
    with pytest.raises(SettingsError, match="^depth_stabilization_weight: depth_model: flat"):
        build_run(plan_of(video, depth_stabilization_weight="1", depth_model="flat"), CPU)


def test_the_source_video_is_read_forward_only_with_long_term_samples(tmp_path: Path, monkeypatch):
    plan = plan_of(moving_square(tmp_path / "v.mp4", 8), flow_stabilization_weight="1", flow_long_term_samples=2,
                   reencode_each_frame=False)
    run = build_run(plan, CPU)
    hook = source_hook(run)
    reopened: list[int] = []
    restart = hook.frames._restart
    monkeypatch.setattr(hook.frames, "_restart", lambda: (reopened.append(1), restart())[1])
    for frame in range(6):
        hook.on_frame(start(frame), run.variables)
    assert reopened == [] and sorted(hook.sources) == [2, 3, 4, 5, 6]  # frame 5 compares 6 with 5, 4 and 2


def test_a_run_resumed_from_a_mid_frame_backup_renders_the_same_pictures(tmp_path: Path):
    """Warping with DIS and three flow samples: the backup's state (kept outputs, targets) restores exactly."""
    plan = plan_of(moving_square(tmp_path / "v.mp4", 10), steps_per_scene=14, smoothing_weight=0.1,
                   reencode_each_frame=False, flow_stabilization_weight="1", flow_long_term_samples=2,
                   direct_stabilization_weight="1")
    run = build_run(plan, CPU)
    pictures, saved = {}, io.BytesIO()

    def remember(report: StepReport) -> None:
        pictures[report.done] = run.model.decode().detach().clone()
        if report.done == 7:  # mid frame 2, whose samples reach frames 1 and 2 back
            torch.save(run.state(), saved)

    run.run(0, [remember])
    resumed = build_run(plan, CPU)
    resumed.load_state(torch.load(io.BytesIO(saved.getvalue()), weights_only=True))
    again = {}
    resumed.run(7, [lambda report: again.update({report.done: resumed.model.decode().detach().clone()})])
    assert sorted(again) == list(range(8, 15))
    assert all(torch.equal(again[done], pictures[done]) for done in again)
