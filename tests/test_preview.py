"""``dreamloom preview``: the motion alone, as the render will move it, written as a short video."""

from __future__ import annotations

import itertools
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from PIL import Image

from dreamloom.cli import main
from dreamloom.output.naming import next_base_name
from dreamloom.plan import build_plan
from dreamloom.preview import motion_frames, motion_pattern
from dreamloom.render import render
from dreamloom.settings.loading import load_settings

MARK = (10, 20, 6)
"""x, y and side of the white square on the black init picture."""


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)


def write_init(path: Path, size: tuple[int, int] = (64, 48), mark: tuple[int, int, int] = MARK) -> np.ndarray:
    """A black picture with one white square: bold enough to survive H.264, easy to locate."""
    x, y, side = mark
    pixels = np.zeros((size[1], size[0], 3), np.uint8)
    pixels[y:y + side, x:x + side] = 255
    Image.fromarray(pixels, "RGB").save(path)
    return pixels


def write_config(**values) -> Path:
    settings = {"scenes": " ", "ViTB32": False, "width": 64, "height": 48, "animation_mode": "2D",
                "sampling_mode": "nearest", "infill_mode": "black", "pre_animation_steps": 0, "steps_per_frame": 10,
                "steps_per_scene": 60, "frames_per_second": 8, "seed": 1}
    settings.update(values)
    path = Path("config.yaml")
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def run_preview(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["-q", "preview", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def preview_video(capsys, *arguments: str) -> Path:
    """Run ``dreamloom preview`` that must succeed silently; the path it prints."""
    code, out, err = run_preview(capsys, *arguments)
    assert (code, err) == (0, "")
    return Path(out.strip())


def decode(path: Path) -> tuple[list[np.ndarray], Fraction]:
    """Every frame of the video as RGB, and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)], stream.average_rate


def centre_of_bright(frame: np.ndarray) -> tuple[float, float]:
    """(x, y) centroid of the bright pixels (the white square after compression)."""
    ys, xs = np.nonzero(frame.mean(axis=2) > 128)
    return float(xs.mean()), float(ys.mean())


def test_translate_x_moves_the_init_image_two_pixels_per_frame(capsys):
    init = write_init(Path("init.png"))
    frames, rate = decode(preview_video(capsys, str(write_config(init_image="init.png", translate_x="2"))))
    assert (len(frames), rate) == (7, 8)  # the start and the render's 6 frames
    for k, frame in enumerate(frames):
        assert np.abs(frame.astype(int) - np.roll(init, 2 * k, axis=1)).mean() < 2, k
        x, y = centre_of_bright(frame)
        assert x == pytest.approx(MARK[0] + 2.5 + 2 * k, abs=0.3)
        assert y == pytest.approx(MARK[1] + 2.5, abs=0.3)


def test_each_frames_motion_is_evaluated_at_the_t_where_the_render_frame_begins(capsys):
    """Frames begin at steps 20, 30, ... (t = 0, 1/8, ...), so `16*t` moves 0, 2, 4, ... pixels in turn."""
    write_init(Path("init.png"))
    config = write_config(init_image="init.png", translate_x="16*t", pre_animation_steps=20, steps_per_scene=80)
    video = preview_video(capsys, str(config))
    frames, _ = decode(video)
    shifts = [round(centre_of_bright(frame)[0] - MARK[0] - 2.5) for frame in frames]
    assert shifts == [0, 0, 2, 6, 12, 20, 30]


def test_motion_is_in_grid_pixels_shown_at_pixel_size(capsys):
    """One grid pixel up per frame is two pixels of a picture shown at pixel_size 2 (translate_y: up)."""
    write_init(Path("init.png"), size=(32, 24), mark=(10, 12, 3))
    config = write_config(init_image="init.png", width=32, height=24, pixel_size=2, translate_y="1",
                          steps_per_scene=30)
    video = preview_video(capsys, str(config))
    frames, _ = decode(video)
    assert frames[0].shape == (48, 64, 3)
    assert [centre_of_bright(frame) for frame in frames] == [
        pytest.approx((22.5, 26.5 - 2 * k), abs=0.3) for k in range(4)]


def test_the_preview_frames_are_the_render_frames_of_a_run_without_losses(tmp_path):
    """Pictures saved at the end of pre-animation and of each frame: the start, then one frame's motion more.
    A noise picture, so that what comes in at the edges (infill) shows."""
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise, "RGB").save("init.png")
    settings = load_settings({
        "scenes": " ", "ViTB32": False, "smoothing_weight": 0, "width": 64, "height": 48, "init_image": "init.png",
        "animation_mode": "2D", "rotate_2d": "7", "zoom_x_2d": "2", "translate_y": "0.5*t", "sampling_mode": "bicubic",
        "infill_mode": "mirror", "pre_animation_steps": 3, "steps_per_frame": 3, "save_every": 3, "steps_per_scene": 15,
        "frames_per_second": 4, "display_every": 0, "backups": 0, "seed": 2, "video_format": "off",
        "output_dir": str(tmp_path / "out"),
    })
    rendered = [np.asarray(Image.open(path).convert("RGB")) for path in render(settings).pictures]
    previewed = [np.asarray(picture) for picture in motion_frames(build_plan(settings), 5)]
    assert len(rendered) == 5
    for k, (picture, expected) in enumerate(zip(previewed, rendered)):
        assert np.array_equal(picture, expected), k


def test_rotation_changes_the_test_pattern_frame_by_frame(capsys):
    video = preview_video(capsys, str(write_config(rotate_2d="5", sampling_mode="bicubic")))
    frames, _ = decode(video)
    assert len(frames) == 7
    for before, after in itertools.pairwise(frames):
        assert np.abs(after.astype(int) - before).mean() > 3


@pytest.mark.parametrize("sampling", ["nearest", "bilinear", "bicubic"])
def test_zero_motion_keeps_every_frame_exactly_the_start_picture(sampling):
    settings = load_settings({"scenes": " ", "ViTB32": False, "width": 40, "height": 30, "animation_mode": "2D",
                              "sampling_mode": sampling, "translate_x": "0", "rotate_2d": "0*t"})
    frames = [np.asarray(picture) for picture in motion_frames(build_plan(settings), 4)]
    assert np.array_equal(frames[0], np.asarray(motion_pattern(40, 30)))
    for frame in frames[1:]:
        assert np.array_equal(frame, frames[0])


def test_rotation_direction_shows_on_the_test_pattern(capsys):
    """A quarter turn counter-clockwise carries the red mark from the top-left corner to the bottom-left."""
    video = preview_video(capsys, str(write_config(width=64, height=64, rotate_2d="90")), "--frames", "2")
    start, turned = decode(video)[0]
    red = [np.nonzero((frame[..., 0] > 180) & (frame[..., 1] < 100) & (frame[..., 2] < 100)) for frame in (start, turned)]
    assert (red[0][0].mean() < 20, red[0][1].mean() < 20) == (True, True)
    assert (red[1][0].mean() > 44, red[1][1].mean() < 20) == (True, True)


def test_the_test_pattern_has_no_symmetry():
    pattern = np.asarray(motion_pattern(48, 48))
    for transformed in (pattern[::-1], pattern[:, ::-1], np.rot90(pattern), np.rot90(pattern, 2), np.rot90(pattern, 3)):
        assert np.abs(transformed.astype(int) - pattern).mean() > 5


@pytest.mark.parametrize(("arguments", "count"), [(["--frames", "3"], 3), ([], 20)])
def test_frames_gives_the_count_and_the_default_stops_after_ten_seconds(capsys, arguments, count):
    """The render has 100 frames at 2 fps: by default 10 s of them, 20 frames."""
    config = write_config(frames_per_second=2, steps_per_scene=1000, width=16, height=16)
    video = preview_video(capsys, str(config), *arguments)
    frames, rate = decode(video)
    assert (len(frames), rate) == (count, 2)


def test_the_default_path_does_not_count_as_a_run(capsys):
    config = write_config(file_namespace="forest", output_dir="renders")
    video = preview_video(capsys, str(config))
    assert video == Path("renders/forest/forest.preview.mp4")
    assert video.is_file()
    assert next_base_name(Path("renders/forest"), "forest", allow_overwrite=False) == "forest"


def test_the_output_suffix_picks_the_format(capsys):
    video = preview_video(capsys, str(write_config(translate_x="1")), "--output", "motion.gif", "--frames", "2")
    assert video.read_bytes()[:4] == b"GIF8"


def test_input_audio_becomes_the_sound(capsys):
    with wave.open("tone.wav", "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes((np.sin(np.arange(16000) * 0.3) * 8000).astype("<i2").tobytes())
    video = preview_video(capsys, str(write_config(input_audio="tone.wav")))
    with av.open(str(video)) as container:
        assert len(container.streams.audio) == 1


def test_a_vqgan_config_previews_at_the_vqgan_output_size_without_its_weights(capsys, tmp_path):
    """f16: 44×20 → 2×1 tokens → 32×16 pixels; f8 (openimages): 5×2 tokens → 40×16. Motion in output pixels."""
    models = tmp_path / "models"
    models.mkdir()
    write_init(Path("init.png"), size=(44, 20), mark=(4, 6, 6))
    for name, size in (("imagenet", (32, 16)), ("openimages", (40, 16))):
        config = write_config(image_model="VQGAN", vqgan_model=name, models_parent_dir=str(models), width=44,
                              height=20, init_image="init.png", translate_x="2", steps_per_scene=30)
        frames, _ = decode(preview_video(capsys, str(config), "--output", f"{name}.mp4"))
        assert frames[0].shape[1::-1] == size
        assert [round(centre_of_bright(frame)[0]) for frame in frames] == [
            round(centre_of_bright(frames[0])[0]) + 2 * k for k in range(4)]
    assert list(models.iterdir()) == []


@pytest.mark.parametrize(("values", "arguments", "code", "fragments"), [
    ({"animation_mode": "off"}, [], 2, ["animation_mode: off", "no motion to preview"]),
    ({"animation_mode": "3D"}, [], 2, ["animation_mode: '3D'", "2D motion only"]),
    ({"init_image": "missing.png"}, [], 1, ["init_image", "missing.png"]),
    ({"translate_x": "t +* 2"}, [], 2, ["translate_x"]),
    ({"rotate_2d": "bass * 2"}, [], 2, ["rotate_2d", "bass"]),
    ({"rotate_2d": "bass * 2", "input_audio_filters": [{"variable_name": "bass", "f_center": 80, "f_width": 40}]},
     [], 2, ["input_audio_filters", "input_audio, which is empty"]),
    ({"input_audio": "song.mp3"}, [], 1, ["input_audio", "song.mp3"]),
    ({"pre_animation_steps": 60}, [], 2, ["pre_animation_steps", "nothing moves"]),
    ({}, ["--frames", "0"], 2, ["--frames", "1 or more"]),
])
def test_a_mistake_is_one_message_and_no_video(capsys, values, arguments, code, fragments):
    exit_code, out, err = run_preview(capsys, str(write_config(**values)), *arguments)
    assert (exit_code, out) == (code, "")
    assert err.startswith("dreamloom: error: ") and err.count("dreamloom: error:") == 1 and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert not Path("images_out").exists()
