"""Render end to end, mostly without perceptors (direct image losses): files, naming, resume, errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from dreamloom.render import render
from dreamloom.errors import DreamloomError, InputFileError, PromptError, SettingsError
from dreamloom.settings.loading import load_settings

from .conftest import cli, render_then_kill, resume_and_render_reference, write_config, write_picture

RED = (200, 30, 30)


def mean_colour(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)


def test_direct_prompt_render_writes_frames_log_settings_and_backups(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "target.png", [RED])
    config = write_config(tmp_path, scenes=" ", direct_image_prompts="target.png:1", steps_per_scene=45,
                          save_every=10, backups=2, file_namespace="run")
    result = render(load_settings(config))
    folder = tmp_path / "images_out" / "run"
    assert [p.name for p in result.pictures] == [f"run_{n}.png" for n in range(1, 6)]  # 10,20,30,40 and the end (45)
    assert np.abs(mean_colour(result.final_picture) - RED).max() < 25
    saved = yaml.safe_load((folder / "run_settings.yaml").read_text())
    assert saved["seed"] == 5 and saved["direct_image_prompts"] == "target.png:1"
    rows = list(csv.reader((folder / "run_losses.csv").open()))
    assert rows[0] == ["step", "target.png (direct)", "smoothing loss (TV)"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 46))
    assert float(rows[-1][1]) < float(rows[1][1]) / 4  # the direct loss fell
    assert sorted(p.name for p in (tmp_path / "backup" / "run").iterdir()) == ["run_40.bak", "run_45.bak"]

    second = render(load_settings(config))
    assert second.base_name == "run(1)" and (folder / "run(1)_1.png").exists()


def test_save_every_zero_saves_only_the_final_picture(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "target.png", [RED])
    config = write_config(tmp_path, scenes=" ", direct_image_prompts="target.png", steps_per_scene=7, save_every=0)
    result = render(load_settings(config))
    assert [p.name for p in result.pictures] == ["default_1.png"]


def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path: Path, run_cli):
    """A perceptor with random cutouts and augmentations draws from the generator at every step, so the resumed
    run reproduces every frame and every loss row only if the backup restored the generator's state too."""
    common = dict(scenes="red | blue:-0.5", perceptors=["demo"], cutouts=4, cut_pow=1,
                  direct_image_prompts="target.png:0.5", width=24, height=24, steps_per_scene=60, save_every=10,
                  backups=2, seed=11, smoothing_weight=0.1)
    folders = {name: tmp_path / name for name in ("reference", "killed")}
    for folder in folders.values():
        folder.mkdir()
        write_picture(folder / "target.png", [RED, (20, 40, 220)], size=(24, 24))
        write_config(folder, **common)

    render_then_kill(folders["killed"])
    out = {name: folder / "images_out" / "default" for name, folder in folders.items()}
    frames_before = {p.name: p.read_bytes() for p in out["killed"].glob("default_*.png")}
    assert frames_before and "default_6.png" not in frames_before

    resume_and_render_reference(run_cli, folders["killed"], folders["reference"])
    for number in range(1, 7):
        name = f"default_{number}.png"
        assert np.array_equal(np.asarray(Image.open(out["killed"] / name)),
                              np.asarray(Image.open(out["reference"] / name))), name
    for name, data in frames_before.items():  # frames written before the kill are kept, untouched
        assert (out["killed"] / name).read_bytes() == data
    rows = {name: list(csv.reader((out[name] / "default_losses.csv").open())) for name in out}
    assert [int(r[0]) for r in rows["killed"][1:]] == list(range(1, 61))
    assert rows["killed"] == rows["reference"]


def test_resume_without_backups_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, scenes=" ", smoothing_weight=1)
    with pytest.raises(DreamloomError, match="--resume: no backup of 'default'"):
        render(load_settings(config), resume=True)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"scenes": "", "direct_image_prompts": "x.png"}, PromptError, "scenes: there is no scene"),
        ({"scenes": " ", "init_image": "missing.png", "direct_init_weight": 1}, InputFileError, r"init_image: the file .*missing.png does not exist"),
        ({"scenes": " ", "direct_image_prompts": "nothere.png"}, InputFileError, r"direct_image_prompts: the file .*nothere.png does not exist"),
        ({"scenes": " ", "direct_image_prompts": "notimage.png"}, InputFileError, r"direct_image_prompts: .*notimage.png is not an image PIL can read"),
        ({"scenes": " ", "init_image": "ftp://example.com/a.png"}, InputFileError, "init_image: ftp://example.com/a.png uses the scheme 'ftp'; only http"),
        ({"scenes": "a red apple"}, SettingsError, "select at least one perceptor"),
        ({"scenes": " ", "animation_mode": "3D", "depth_model": "flat", "depth_stabilization_weight": 1}, SettingsError,
         "depth_stabilization_weight: depth_model: flat sees no depth"),
        ({"scenes": " ", "animation_mode": "Video Source"}, SettingsError, "video_path: animation_mode: Video Source needs a video"),
        ({"scenes": " ", "input_audio": "notimage.png", "input_audio_filters": [{"variable_name": "bass", "f_center": 80, "f_width": 40}]},
         InputFileError, r"input_audio: The audio file notimage.png has no audio stream"),
        ({"scenes": " ", "animation_mode": "2D", "input_audio": "missing.mp3"}, InputFileError,
         r"input_audio: Cannot read the audio file missing.mp3"),
        ({"scenes": " ", "animation_mode": "2D", "input_audio": "notimage.png"}, InputFileError,
         r"input_audio: The audio file notimage.png has no audio stream"),
    ],
)
def test_user_errors_fail_before_rendering(tmp_path: Path, monkeypatch, settings, error, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notimage.png").write_text("hello")
    config = write_config(tmp_path, **settings)
    with pytest.raises(error, match=message):
        render(load_settings(config))
    assert not (tmp_path / "images_out").exists() and not (tmp_path / "backup").exists()  # pre-flight made nothing


def test_unwritable_output_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    config = write_config(tmp_path, scenes=" ", output_dir=str(blocker / "out"))
    with pytest.raises(DreamloomError, match=r"Cannot write to .*file/out/default \(from output_dir\)"):
        render(load_settings(config))


def test_cli_error_exit_codes(tmp_path: Path, run_cli):
    write_config(tmp_path, scenes="a:1_")
    result = run_cli("render", "config.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "scene 1, prompt 1" in result.stderr


@pytest.mark.parametrize("quiet", [False, True])
def test_cli_prints_dreamloom_progress_not_library_chatter_and_quiet_means_quiet(tmp_path: Path, quiet: bool):
    write_config(tmp_path, perceptors=["demo"], scenes="red", steps_per_scene=2, cutouts=2, approximate_vram_usage=True,
                 display_every=1)
    command = [sys.executable, "-m", "dreamloom.cli", *(["-q"] if quiet else []), "render", "config.yaml"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    assert "Instantiating model architecture" not in result.stderr  # open_clip's INFO lines stay hidden
    assert ("peak resident memory" in result.stderr) is not quiet  # dreamloom's own INFO line, unless -q
    assert ("2/2 [" in result.stderr) is not quiet  # the progress bar
    final = str(tmp_path / "images_out" / "default" / "default_1.png")
    progress = [] if quiet else ["step 1/2", "step 2/2"]
    assert [line.split(" · ")[0] for line in result.stdout.splitlines()] == [*progress, final]  # the path last
    assert ("Finished in " in result.stderr) is not quiet and ("peak resident memory" in result.stderr) is not quiet
    assert (f"Final picture: {final} (1 picture written in" in result.stderr) is not quiet


def test_quiet_is_accepted_after_the_subcommand_and_an_animation_summary_names_its_video(tmp_path: Path):
    write_config(tmp_path, scenes=" ", smoothing_weight=1, steps_per_scene=4, save_every=2, animation_mode="2D",
                 pre_animation_steps=0, steps_per_frame=2, translate_x="1")
    command = [sys.executable, "-m", "dreamloom.cli", "render", "config.yaml", "allow_overwrite=true"]
    chatty = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    quiet = subprocess.run([*command, "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    folder = tmp_path / "images_out" / "default"
    assert chatty.returncode == 0 and quiet.returncode == 0, chatty.stderr + quiet.stderr
    assert f"Video: {folder / 'default.mp4'}" in chatty.stderr
    assert "Final picture: " in chatty.stderr and "Make a video" not in chatty.stderr
    assert quiet.stdout == f"{folder / 'default_2.png'}\n" and quiet.stderr == ""


def test_a_still_run_with_several_pictures_suggests_a_video(tmp_path: Path):
    write_config(tmp_path, scenes=" ", smoothing_weight=1, steps_per_scene=4, save_every=2)
    result = subprocess.run([sys.executable, "-m", "dreamloom.cli", "render", "config.yaml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    folder = tmp_path / "images_out" / "default"
    assert f"Make a video of them: dreamloom video {folder} --base 'default'" in result.stderr


@pytest.mark.parametrize("command", ["render", "preview"])
def test_a_bare_command_asks_for_a_config(tmp_path: Path, run_cli, command: str):
    result = run_cli(command, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"dreamloom {command} needs a config: dreamloom {command} CONFIG.yaml" in result.stderr
    assert not (tmp_path / "images_out").exists()


def test_settings_warns_about_values_render_would_refuse(tmp_path: Path, run_cli):
    write_config(tmp_path, scenes=" ", animation_mode="3D", depth_model="flat", depth_stabilization_weight=1)
    command = [sys.executable, "-m", "dreamloom.cli", "settings", "config.yaml"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert "render would refuse these settings: depth_stabilization_weight: depth_model: flat" in result.stderr
    assert yaml.safe_load(result.stdout)["animation_mode"] == "3D"
    fine = run_cli("settings", "config.yaml", "animation_mode=2D", cwd=tmp_path)
    assert fine.returncode == 0 and "refuse" not in fine.stderr


def test_ctrl_c_keeps_a_backup_and_the_picture_and_says_how_to_resume(tmp_path: Path, run_cli):
    write_picture(tmp_path / "target.png", [RED])
    write_config(tmp_path, scenes=" ", direct_image_prompts="target.png", steps_per_scene=100000, save_every=50,
                 backups=0)
    process = cli("render", "config.yaml", cwd=tmp_path)
    frames = tmp_path / "images_out" / "default"
    deadline = time.monotonic() + 240
    while not list(frames.glob("default_1.png")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the render never saved a frame"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "--resume" in err and "Traceback" not in err
    assert err.startswith("dreamloom: interrupted: Interrupted after") and "error" not in err
    assert (frames / "default_interrupted.png").exists()
    assert len(list((tmp_path / "backup" / "default").glob("default_*.bak"))) == 1  # forced despite backups: 0
    resumed = cli("render", "config.yaml", "--resume", "steps_per_scene=400", cwd=tmp_path)
    _, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err
    assert (frames / "default_8.png").exists()


def test_the_scene_prompts_embed_every_prompt_then_free_the_text_towers(tmp_path: Path) -> None:
    from dreamloom.engine.semantic import build_scene_prompts
    from dreamloom.perception.perceptors import load_perceptor
    from dreamloom.plan import build_plan

    config = write_config(tmp_path, scenes="red:1 | blue:-0.5 || green", perceptors=["demo"])
    perceptor = load_perceptor("demo", device=torch.device("cpu"), cache_dir=tmp_path)
    fresh = load_perceptor("demo", device=torch.device("cpu"), cache_dir=tmp_path)
    scene_prompts = build_scene_prompts(build_plan(load_settings(config)), [perceptor])
    assert perceptor.text_released
    assert torch.equal(scene_prompts.guide.embed_text("green", "green")[0], fresh.encode_text(["green"])[0])
