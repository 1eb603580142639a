"""3D mode through the run builder and ``render``: the camera moves the picture, depth is computed once per
frame, the depth and flow terms aim at what the camera predicts, and what a user can get wrong is refused
with one message (animation-losses-outputs.md §3, §6.5, §6.8)."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from depth_fakes import tiny_depth_spec, write_tiny_weights
from PIL import Image

from dreamloom.animation import depth_specs
from dreamloom.animation.depth import DepthAnything
from dreamloom.animation.optical_flow import raft_network
from dreamloom.cli import main
from dreamloom.engine.camera3d import FLOW_TERM, Camera3DHook, check_camera
from dreamloom.engine.run import Run, build_run
from dreamloom.errors import PromptError, SettingsError, WeightsError
from dreamloom.losses.target_flow import target_flow_loss
from dreamloom.plan import build_plan
from dreamloom.render import render
from dreamloom.settings.choices import OpticalFlowModel
from dreamloom.settings.loading import load_settings

from .conftest import write_config

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def pattern(path: Path, size: int = 16) -> np.ndarray:
    """A picture in which every pixel differs, so any misplaced pixel shows."""
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return pixels


def still_3d(**values) -> dict:
    """A 3D run with no loss at all (the picture only moves), frames at steps 2, 5, 8, 11 of 14."""
    base = {"ViTB32": False, "scenes": " ", "smoothing_weight": 0, "width": 16, "height": 16,
            "init_image": "init.png", "animation_mode": "3D", "depth_model": "flat", "sampling_mode": "nearest",
            "infill_mode": "black", "pre_animation_steps": 2, "steps_per_frame": 3, "save_every": 3,
            "steps_per_scene": 14, "display_every": 0, "backups": 0, "seed": 2, "video_format": "off"}
    base.update(values)
    return base


def test_a_quarter_turn_per_frame_turns_each_saved_picture_clockwise(tmp_path: Path) -> None:
    init = pattern(tmp_path / "init.png")
    quarter = f"[{math.cos(math.pi / 4)}, 0, 0, {math.sin(math.pi / 4)}]"
    result = render(load_settings(still_3d(rotate_3d=quarter)))
    pictures = [np.asarray(Image.open(path).convert("RGB")) for path in result.pictures]
    assert len(pictures) == 5
    for turns, saved in zip([1, 2, 3, 4, 4], pictures):  # the last picture is saved at the end (step 14)
        assert np.array_equal(saved, np.rot90(init, k=-turns)), turns


def test_lock_camera_holds_a_flat_picture_still_that_a_free_camera_slides(tmp_path: Path) -> None:
    """Flat depth puts the picture at (10 + 390) / 2 = 200 px; with a focal length of 8 / tan(30°) px, a sideways
    move of 200 · tan(30°) / 8 px slides it by exactly one pixel per frame, unless lock_camera removes it."""
    init = pattern(tmp_path / "init.png")
    slide = {"translate_x": str(200 * math.tan(math.radians(30)) / 8), "near_plane": 10, "far_plane": 390}
    locked = render(load_settings(still_3d(**slide, lock_camera=True)))
    assert all(np.array_equal(np.asarray(Image.open(path).convert("RGB")), init) for path in locked.pictures)
    free = render(load_settings(still_3d(**slide, lock_camera=False, allow_overwrite=True)))
    for shift, path in zip([1, 2, 3, 4], free.pictures):
        expected = np.zeros_like(init)
        expected[:, shift:] = init[:, :-shift]  # content moves right; black comes in from the left
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), expected), shift


def test_the_2d_stabilization_losses_aim_at_the_picture_the_camera_moved(tmp_path: Path) -> None:
    pattern(tmp_path / "init.png")
    quarter = f"[{math.cos(math.pi / 4)}, 0, 0, {math.sin(math.pi / 4)}]"
    run = build_run(build_plan(load_settings(still_3d(rotate_3d=quarter, direct_stabilization_weight="1"))), CPU)
    term = next(term for term in run.optimiser.image_terms if term.label == "stabilization (direct)")
    unmoved = run.model.decode().detach().clone()
    assert term.raw(unmoved).item() == pytest.approx(0.0, abs=1e-6)  # aimed at the init image until frame 1
    run.loop.begin_frame(2)
    moved = run.model.decode().detach()
    assert torch.equal(moved, torch.rot90(unmoved, k=-1, dims=(-2, -1)))
    assert term.enabled and term.raw(moved).item() == pytest.approx(0.0, abs=1e-6)
    assert term.raw(unmoved).item() > 0.01


def test_a_flight_with_the_demo_perceptor_and_flat_depth_makes_frames_and_a_video() -> None:
    settings = load_settings({
        "perceptors": ["demo"], "ViTB32": False, "scenes": "red", "width": 32, "height": 32, "cutouts": 4,
        "seed": 3, "backups": 0, "steps_per_scene": 12, "pre_animation_steps": 3, "steps_per_frame": 3,
        "save_every": 3, "display_every": 0, "animation_mode": "3D", "depth_model": "flat",
        "translate_z_3d": "20", "near_plane": 10, "far_plane": 390, "frames_per_second": 4,
    })
    result = render(settings)
    assert [path.name for path in result.pictures] == [f"default_{n}.png" for n in range(1, 5)]
    assert result.video == result.folder / "default.mp4"
    with av.open(str(result.video)) as container:
        stream = container.streams.video[0]
        assert sum(1 for _ in container.decode(stream)) == 4 and stream.average_rate == 4


@pytest.fixture
def tiny_depth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """depth-anything-v2-small made tiny and random, its weights at the registry's place under tmp_path; the
    list counts the depth model's calls."""
    spec = tiny_depth_spec()
    monkeypatch.setitem(depth_specs._SPECS, spec.name, spec)
    write_tiny_weights(tmp_path / "models", spec)
    calls: list[int] = []
    forward = DepthAnything.forward

    def counted(self: DepthAnything, picture: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return forward(self, picture)

    monkeypatch.setattr(DepthAnything, "forward", counted)
    return calls


def build(tmp_path: Path, **values) -> Run:
    values = {"depth_model": "depth-anything-v2-small", "models_parent_dir": str(tmp_path / "models"),
              "sampling_mode": "bilinear", "translate_z_3d": "30", **values}
    settings = load_settings(still_3d(**values))
    return build_run(build_plan(settings), CPU)


def test_depth_is_computed_once_per_frame_and_r_R_mu_follow_it(tmp_path: Path, tiny_depth: list[int]) -> None:
    pattern(tmp_path / "init.png")
    run = build(tmp_path)
    assert len(tiny_depth) == 1  # the starting picture's, for r, R and mu before the first frame
    seen: list[dict[str, float]] = []
    run.run(0, [lambda report: seen.append(dict(report.variables))])
    assert len(tiny_depth) == 1 + 4  # and one per frame (frames begin at steps 2, 5, 8, 11)
    for values in seen:  # nearest at 1 m, farthest at 10 m: 1000 and 10000 px with the default planes
        assert values["r"] == pytest.approx(1000) and values["R"] == pytest.approx(10000)
        assert 1000 < values["mu"] < 10000
    # no loss moves the picture: the first frame sees the starting picture, the second the moved one
    assert seen[0]["mu"] == seen[2]["mu"] == seen[4]["mu"] != seen[5]["mu"] == seen[7]["mu"]


def test_without_motion_the_depth_term_aims_at_the_pictures_own_depth(tmp_path: Path, tiny_depth: list[int]) -> None:
    """The camera stands still and nearest sampling leaves the picture as it was, so the moved depth is the
    picture's own: with the default planes, 1 / depth in pixels is an affine map of the model's nearness and
    the scale-and-shift-invariant loss is 0."""
    pattern(tmp_path / "init.png")
    run = build(tmp_path, depth_stabilization_weight="1", translate_z_3d="0", sampling_mode="nearest")
    term = next(term for term in run.optimiser.image_terms if term.label == "stabilization (depth)")
    assert not term.enabled  # no target before the first frame
    run.loop.begin_frame(2)
    assert term.enabled
    assert term.raw(run.model.decode().detach()).item() == pytest.approx(0.0, abs=1e-5)


def test_the_depth_term_survives_a_resume(tmp_path: Path, tiny_depth: list[int]) -> None:
    pattern(tmp_path / "init.png")
    run = build(tmp_path, depth_stabilization_weight="1", steps_per_scene=6)
    run.run(0, [])
    picture = run.model.decode().detach()
    term = next(term for term in run.optimiser.image_terms if term.label == "stabilization (depth)")
    value = term.raw(picture).item()
    assert 0 < value <= 1
    resumed = build(tmp_path, depth_stabilization_weight="1", steps_per_scene=6)
    resumed.load_state(run.state())
    again = next(term for term in resumed.optimiser.image_terms if term.label == "stabilization (depth)")
    assert again.enabled and again.raw(picture).item() == pytest.approx(value)


def test_the_flow_term_aims_at_the_cameras_flow_from_the_picture_before_the_move(tmp_path: Path) -> None:
    """Flat depth at mid-depth D = 200 px and tz = 20 px: the camera's flow is the zoom's, (D/(D − tz) − 1)
    times each pixel's offset from the centre; the term compares RAFT's flow with it."""
    pattern(tmp_path / "init.png")
    flow_file = tmp_path / "models" / "flow" / "raft_small_C_T_V2-01064c6d.pth"
    flow_file.parent.mkdir(parents=True)
    torch.save(raft_network(OpticalFlowModel.RAFT_SMALL).state_dict(), flow_file)
    settings = load_settings(still_3d(
        flow_stabilization_weight="1", optical_flow_model="raft-small", models_parent_dir=str(tmp_path / "models"),
        translate_z_3d="20", near_plane=10, far_plane=390, steps_per_scene=3, lock_camera=False,
        sampling_mode="bilinear"))
    run = build_run(build_plan(settings), CPU)
    hook = next(hook for hook in run.loop.hooks if isinstance(hook, Camera3DHook))
    before = run.model.decode().detach().clone()
    run.run(0, [])
    centre = (torch.arange(16, dtype=torch.float32) + 0.5 - 8)
    expected = torch.stack([centre[None, :].expand(16, 16), centre[:, None].expand(16, 16)])[None] * (200 / 180 - 1)
    torch.testing.assert_close(hook.targets["flow"], expected)
    torch.testing.assert_close(hook.targets["picture"], before)
    term = next(term for term in run.optimiser.image_terms if term.label == FLOW_TERM)
    picture = run.model.decode().detach().requires_grad_(True)
    loss = term.raw(picture)
    assert loss.item() == pytest.approx(target_flow_loss(hook.flow_model(before, picture), expected).item(), rel=1e-5)
    loss.backward()
    assert picture.grad is not None and picture.grad.abs().sum() > 0  # the loss reaches the picture through RAFT


def test_a_3d_flow_loss_with_dis_flow_is_refused_before_any_work() -> None:
    settings = load_settings({"ViTB32": False, "scenes": " ", "animation_mode": "3D",
                              "flow_stabilization_weight": "0.5", "optical_flow_model": "dis"})
    with pytest.raises(SettingsError, match="flow_stabilization_weight: .*optical_flow_model: dis is not differentiable"):
        check_camera(settings)
    check_camera(settings.model_copy(update={"flow_stabilization_weight": "0"}))  # off: nothing to refuse


def test_a_rotation_that_is_no_quaternion_is_one_clear_error(tmp_path: Path) -> None:
    pattern(tmp_path / "init.png")
    run = build_run(build_plan(load_settings(still_3d(rotate_3d="[0, 0, 0, 0]"))), CPU)
    with pytest.raises(PromptError, match=r"rotate_3d: `\[0, 0, 0, 0\]` gives .* not all zero"):
        run.run(0, [])


def test_the_default_depth_model_offline_without_weights_is_one_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_config(tmp_path, scenes=" ", animation_mode="3D", models_parent_dir=str(tmp_path / "models"),
                 steps_per_scene=4, pre_animation_steps=1, steps_per_frame=1)
    code = main(["-q", "render", "config.yaml"])
    error = capsys.readouterr().err
    assert code == WeightsError.exit_code != 0 and "Traceback" not in error
    assert error.count("dreamloom: error:") == 1 and "dreamloom models download depth-anything-v2-small" in error
    assert str(tmp_path / "models" / "depth" / "depth-anything-v2-small" / "model.safetensors") in error
    assert not list((tmp_path / "images_out").rglob("*.png"))
