"""Finding a run's frames, and ``dreamloom video``: its output, its overrides and its one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from PIL import Image

from dreamloom.cli import main
from dreamloom.errors import InputFileError
from dreamloom.output.run_frames import DEFAULT_FPS, find_run_frames

from .media import dominant_frequency, decoded_audio, grey_ramp, write_frames


def _age(paths: list[Path], seconds_ago: float) -> None:
    stamp = 1_700_000_000 - seconds_ago
    for path in paths:
        os.utime(path, (stamp, stamp))


def _write_settings(folder: Path, base: str, **values) -> None:
    (folder / f"{base}_settings.yaml").write_text(yaml.safe_dump({"scenes": "a cat", **values}), encoding="utf-8")


def _duration_and_frames(path: Path) -> tuple[float, list[float]]:
    """The video's length in seconds, and each decoded frame's mean brightness."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        brightness = [frame.to_ndarray(format="gray").mean() for frame in container.decode(stream)]
        return float(stream.duration * stream.time_base), brightness


def test_frames_are_in_numeric_order(tmp_path):
    write_frames(tmp_path, grey_ramp(12))
    run = find_run_frames(tmp_path)
    assert [path.name for path in run.frames] == [f"demo_{number}.png" for number in range(1, 13)]
    assert (run.base_name, run.fps, run.audio, run.audio_offset) == ("demo", DEFAULT_FPS, None, 0.0)


def test_the_newest_run_is_picked_unless_a_base_is_given(tmp_path):
    _age(write_frames(tmp_path, grey_ramp(3)), seconds_ago=100)
    _age(write_frames(tmp_path, grey_ramp(2), base="demo(1)"), seconds_ago=10)
    _age(write_frames(tmp_path, grey_ramp(4), base="demo(2)"), seconds_ago=50)
    (tmp_path / "demo_preview.png").write_bytes(b"")
    assert find_run_frames(tmp_path).base_name == "demo(1)"
    assert len(find_run_frames(tmp_path, "demo(2)").frames) == 4


def test_the_settings_file_gives_rate_sound_and_quality(tmp_path):
    write_frames(tmp_path, grey_ramp(2))
    _write_settings(tmp_path, "demo", frames_per_second=6, input_audio="song.mp3", input_audio_offset=2.5, video_crf=30)
    run = find_run_frames(tmp_path)
    assert (run.fps, run.audio, run.audio_offset, run.crf) == (6.0, Path("song.mp3"), 2.5, 30)
    (tmp_path / "demo_settings.yaml").unlink()
    assert find_run_frames(tmp_path).crf == 18  # the video_crf setting's default


def test_the_runs_video_crf_sets_the_quality_unless_crf_is_given(tmp_path, capsys):
    noise = np.random.default_rng(0)
    for number in range(1, 7):  # detailed pictures, whose size depends on the quality
        Image.fromarray(noise.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(tmp_path / f"demo_{number}.png")
    _write_settings(tmp_path, "demo", frames_per_second=6, video_crf=45)
    sizes = {}
    for name, options in (("settings", []), ("override", ["--crf", "18"])):
        output = tmp_path / f"{name}.mp4"
        assert main(["video", str(tmp_path), "--output", str(output), *options]) == 0
        sizes[name] = output.stat().st_size
    assert sizes["settings"] * 2 < sizes["override"]  # crf 45 is far coarser than 18


@pytest.mark.parametrize(("text", "fragment"), [
    ("frames_per_second: 0\n", "frames_per_second in .*demo_settings.yaml must be a number greater than 0"),
    ("input_audio_offset: soon\n", "input_audio_offset in .*demo_settings.yaml must be a number 0 or more"),
    ("video_crf: 60\n", "video_crf in .*demo_settings.yaml must be a whole number from 0 to 51"),
    ("frames_per_second: [12\n", "Cannot read .*demo_settings.yaml"),
    ("!!python/object/apply:os.system [echo]\n", "Cannot read .*demo_settings.yaml"),
])
def test_a_bad_settings_file_is_an_error_naming_it(tmp_path, text, fragment):
    write_frames(tmp_path, grey_ramp(2))
    (tmp_path / "demo_settings.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match=fragment):
        find_run_frames(tmp_path)


def test_video_command_prints_the_path_of_the_video_it_wrote(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(12))
    _write_settings(tmp_path, "demo", frames_per_second=6)
    assert main(["video", str(tmp_path)]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'demo.mp4'}\n"
    duration, brightness = _duration_and_frames(tmp_path / "demo.mp4")
    assert duration == pytest.approx(2.0, abs=1e-4)
    assert brightness == sorted(brightness) and len(brightness) == 12


def test_command_line_options_override_the_settings_file(tmp_path, tone, capsys):
    write_frames(tmp_path / "run", grey_ramp(6))
    audio = tone("tone.wav", [(440, 1.0), (1000, 2.0)])
    _write_settings(tmp_path / "run", "demo", frames_per_second=3, input_audio=str(audio), input_audio_offset=0)
    output = tmp_path / "out" / "clip.mp4"
    assert main(["video", str(tmp_path / "run"), "--fps", "12", "--audio-offset", "1", "--output", str(output)]) == 0
    assert capsys.readouterr().out == f"{output}\n"
    assert _duration_and_frames(output)[0] == pytest.approx(0.5, abs=1e-4)
    assert dominant_frequency(*decoded_audio(output)) == pytest.approx(1000, abs=5)
    assert main(["video", str(tmp_path / "run"), "--no-audio", "--format", "webm"]) == 0
    with av.open(str(tmp_path / "run" / "demo.webm")) as container:
        assert not container.streams.audio


def test_output_suffix_picks_the_format_and_must_agree_with_format(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(3))
    assert main(["video", str(tmp_path), "--output", str(tmp_path / "loop.gif")]) == 0
    with av.open(str(tmp_path / "loop.gif")) as container:
        assert container.streams.video[0].codec_context.name == "gif"
    capsys.readouterr()
    assert main(["video", str(tmp_path), "--format", "webm", "--output", str(tmp_path / "a.mp4")]) == 2
    assert "--format webm does not match --output" in capsys.readouterr().err


def _fails(argv: list[str], capsys, *fragments: str, code: int = 1) -> None:
    """The command exits with ``code`` and one error line (no traceback) holding every fragment."""
    assert main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dreamloom: error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_folder_without_frames_is_one_error_naming_it(tmp_path, capsys):
    (tmp_path / "demo_settings.yaml").write_text("frames_per_second: 12\n", encoding="utf-8")
    _fails(["video", str(tmp_path)], capsys, f"No frames named <base>_<n>.png in {tmp_path}")


def test_a_missing_folder_is_one_error_naming_it(tmp_path, capsys):
    _fails(["video", str(tmp_path / "nowhere")], capsys, f"The run folder {tmp_path / 'nowhere'} does not exist")


def test_an_unknown_base_lists_the_runs_there(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(2))
    _fails(["video", str(tmp_path), "--base", "other"], capsys, "No frames named other_<n>.png", "runs there: demo")


def test_frames_of_mixed_sizes_are_one_error_naming_the_odd_file(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(4))
    write_frames(tmp_path / "small", grey_ramp(1), size=(32, 32))[0].replace(tmp_path / "demo_3.png")
    _fails(["video", str(tmp_path)], capsys, f"{tmp_path / 'demo_3.png'} is 32×32 but demo_1.png is 64×48")
    assert not (tmp_path / "demo.mp4").exists()


def test_unreadable_audio_is_one_error_naming_the_file(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(3))
    song = tmp_path / "song.mp3"
    song.write_text("these are not the sounds you are looking for", encoding="utf-8")
    _fails(["video", str(tmp_path), "--audio", str(song)], capsys, f"Cannot read the audio file {song}")
    assert not (tmp_path / "demo.mp4").exists()


def test_audio_named_by_settings_but_missing_says_how_to_go_on(tmp_path, capsys):
    write_frames(tmp_path, grey_ramp(3))
    _write_settings(tmp_path, "demo", input_audio="gone.mp3")
    _fails(["video", str(tmp_path)], capsys, "input_audio gone.mp3 is not here", "--no-audio", code=2)


@pytest.mark.parametrize(("option", "fragment"), [
    (["--fps", "0"], "--fps must be a number greater than 0"),
    (["--fps", "nan"], "--fps must be a number greater than 0"),
    (["--crf", "52"], "--crf must be between 0 and 51"),
    (["--audio-offset", "-1"], "--audio-offset must be 0 or more"),
])
def test_bad_numbers_are_settings_errors(tmp_path, capsys, option, fragment):
    write_frames(tmp_path, grey_ramp(2))
    _fails(["video", str(tmp_path), *option], capsys, fragment, code=2)

