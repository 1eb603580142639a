"""2D animation through ``render``: motion per frame, the frame column and progress, the video, and resume."""

from __future__ import annotations

import csv
import math
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dreamloom.render import RenderResult, render
from dreamloom.settings.loading import load_settings

from .conftest import render_then_kill, resume_and_render_reference, write_config


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)


def pattern(path: Path, size: tuple[int, int] = (16, 12)) -> np.ndarray:
    """An init picture where every column differs, so a horizontal shift is visible exactly."""
    width, height = size
    columns = np.arange(width, dtype=np.uint8) * (255 // width)
    pixels = np.stack([np.tile(columns, (height, 1)), np.tile(columns[::-1], (height, 1)),
                       np.full((height, width), 128, np.uint8)], axis=-1)
    Image.fromarray(pixels, "RGB").save(path)
    return pixels


def still_motion(**values) -> RenderResult:
    """A 2D render with no loss at all: the picture only moves, frame by frame."""
    base = dict(ViTB32=False, scenes=" ", smoothing_weight=0, width=16, height=12, init_image="init.png",
                animation_mode="2D", sampling_mode="nearest", infill_mode="wrap", pre_animation_steps=2,
                steps_per_frame=3, save_every=3, steps_per_scene=14, display_every=0, backups=0, seed=2,
                video_format="off")
    base.update(values)
    return render(load_settings(base))


def picture(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.parametrize(("translate_x", "shifts"), [("2", [2, 4, 6, 8]), ("0.5", [0, 1, 1, 2]), ("t * 4", [0, 1, 3, 6])])
def test_each_frame_moves_the_picture_by_its_motion_evaluated_at_the_frames_t(tmp_path: Path, translate_x, shifts):
    """Frames begin at steps 2, 5, 8, 11 (t = 0, 1/4, 2/4, 3/4 at 4 fps); pictures are saved at steps 3, 6, 9, 12
    and the end (14). Nearest sampling: whole pixels, the fraction carried to the next frame."""
    init = pattern(tmp_path / "init.png")
    result = still_motion(translate_x=translate_x, frames_per_second=4)
    assert [p.name for p in result.pictures] == [f"default_{n}.png" for n in range(1, 6)]
    for saved, shift in zip(result.pictures, shifts + shifts[-1:]):  # the last picture is saved at the end
        assert np.array_equal(picture(saved), np.roll(init, shift, axis=1)), saved.name


def test_rotation_and_zoom_reach_the_image_model(tmp_path: Path):
    init = pattern(tmp_path / "init.png", size=(12, 12))
    turned = still_motion(rotate_2d="90", width=12, height=12, steps_per_scene=5)  # frames at steps 2
    assert np.array_equal(picture(turned.pictures[-1]), np.rot90(init, k=1))  # counter-clockwise on screen
    zoomed = still_motion(zoom_x_2d="6", zoom_y_2d="6", width=12, height=12, steps_per_scene=5)
    assert not np.array_equal(picture(zoomed.pictures[-1]), init)


def test_an_animation_logs_frames_and_shows_frame_progress(tmp_path: Path, capsys):
    pattern(tmp_path / "init.png")
    result = still_motion(translate_x="1", smoothing_weight=0.1, display_every=4)
    with (result.folder / "default_losses.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:2] == ["step", "frame"]
    assert [row["frame"] for row in rows] == ["", "", "1", "1", "1", "2", "2", "2", "3", "3", "3", "4", "4", "4"]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step")]
    assert [line.split(" · ")[2] for line in lines] == ["frame 1/4", "frame 2/4", "frame 4/4"]


def test_a_still_image_log_has_no_frame_column(tmp_path: Path):
    pattern(tmp_path / "init.png")
    result = still_motion(animation_mode="off", smoothing_weight=0.1)
    with (result.folder / "default_losses.csv").open() as handle:
        assert next(csv.reader(handle))[:2] == ["step", "smoothing loss (TV)"]
    assert result.video is None


def tone(path: Path, seconds: float, frequency: float = 440.0, rate: int = 16000) -> None:
    """A mono 16-bit sine tone."""
    samples = (np.sin(2 * math.pi * frequency * np.arange(int(seconds * rate)) / rate) * 12000).astype(np.int16)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())


def test_an_animation_ends_in_a_video_of_its_frames_with_the_input_audio(tmp_path: Path):
    pattern(tmp_path / "init.png")
    tone(tmp_path / "tone.wav", seconds=5.0)
    result = still_motion(translate_x="1", video_format="mp4", frames_per_second=4, input_audio="tone.wav",
                          input_audio_offset=1.0)
    assert result.video == result.folder / "default.mp4"
    with av.open(str(result.video)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        assert frames == len(result.pictures) == 5
        assert video.average_rate == 4
        assert container.streams.audio, "the input audio is muxed in"
        audio = container.streams.audio[0]
        audio_seconds = float(audio.duration * audio.time_base)
    assert audio_seconds == pytest.approx(5 / 4, abs=0.07)  # cut to the video's length, not the tone's 4 s left


def test_video_format_off_writes_no_video_and_gif_writes_a_gif(tmp_path: Path):
    pattern(tmp_path / "init.png")
    assert still_motion(translate_x="1", video_format="off").video is None
    assert not list(tmp_path.rglob("*.mp4"))
    gif = still_motion(translate_x="1", video_format="gif", allow_overwrite=True).video
    assert gif is not None and gif.suffix == ".gif"
    with Image.open(gif) as image:
        assert image.n_frames == 5


def test_sigkill_mid_animation_then_resume_gives_the_same_frames(tmp_path: Path, run_cli):
    """Motion with a sub-pixel carry and a loss that keeps repainting: the resumed run must restore the carried
    fraction, the optimiser and the generator to reproduce every later frame exactly."""
    common = dict(scenes=" ", direct_image_prompts="target.png:0.5", init_image="init.png", width=24, height=24,
                  animation_mode="2D", translate_x="0.75", rotate_2d="t * 2", sampling_mode="nearest",
                  pre_animation_steps=10, steps_per_frame=20, save_every=20, steps_per_scene=400, backups=2,
                  seed=4, smoothing_weight=0.05, video_format="off")
    folders = {name: tmp_path / name for name in ("reference", "killed")}
    for folder in folders.values():
        folder.mkdir()
        pattern(folder / "init.png", size=(24, 24))
        Image.new("RGB", (24, 24), (200, 30, 30)).save(folder / "target.png")
        write_config(folder, **common)

    render_then_kill(folders["killed"])
    kept = sorted((folders["killed"] / "images_out" / "default").glob("default_*.png"))
    assert kept and len(kept) < 20

    resume_and_render_reference(run_cli, folders["killed"], folders["reference"])
    for number in range(1, 21):
        name = f"default_{number}.png"
        ours = picture(folders["killed"] / "images_out" / "default" / name)
        theirs = picture(folders["reference"] / "images_out" / "default" / name)
        assert np.array_equal(ours, theirs), name
