"""Audio variables in a run: served from step 0, changing at frame boundaries, in the loss log, on resume."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from audio.signals import tone, write_wav

from dreamloom.engine.run import build_run
from dreamloom.errors import InputFileError
from dreamloom.plan import build_plan
from dreamloom.render import render
from dreamloom.settings.loading import load_settings

from .conftest import write_picture

CPU = torch.device("cpu")
FHI = {"variable_name": "fHi", "f_center": 900, "f_width": 600, "order": 5}


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)


def song(path: Path) -> Path:
    """1 s of silence, then 2 s of 1 kHz: fHi is exactly 0 on frames before 1 s and about 1 after."""
    return write_wav(path, tone(1000, 3.0, start=1.0))


def settings(**values):
    base = dict(ViTB32=False, scenes=" ", width=16, height=12, seed=3, smoothing_weight=0, display_every=0,
                init_image="init.png", direct_image_prompts="target.png:10*fHi", animation_mode="2D",
                pre_animation_steps=2, steps_per_frame=2, frames_per_second=4, steps_per_scene=22, save_every=10,
                backups=0, video_format="off", input_audio="song.wav", input_audio_filters=[FHI], learning_rate=0.05)
    base.update(values)
    return load_settings(base)


def pictures(tmp_path: Path) -> None:
    song(tmp_path / "song.wav")
    write_picture(tmp_path / "init.png", [(128, 128, 128)], (16, 12))
    write_picture(tmp_path / "target.png", [(255, 0, 0), (0, 0, 255)], (16, 12))


def read_log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_prompt_weight_of_10_fhi_follows_the_audio_in_the_loss_log(tmp_path: Path):
    """Frames begin at steps 2, 4, … (t = 0, 0.25, …); the tone begins at 1 s = frame 5 (from 1), whose
    first step is the first after a flush of the log (save_every 10). The direct prompt's loss is logged
    only on steps whose weight 10·fHi is not 0."""
    pictures(tmp_path)
    result = render(settings())
    rows = read_log(result.folder / f"{result.base_name}_losses.csv")
    assert len(rows) == 22
    assert list(rows[0])[-4:] == ["fHi", "fHi_prev", "fHi_onset", "beat"]
    prompt = "target.png (direct)"
    assert prompt in rows[0]
    by_frame = {row["frame"]: row for row in rows}
    for frame in "1234":
        assert float(by_frame[frame]["fHi"]) == 0 and by_frame[frame][prompt] == ""
    for frame in "6789":
        assert float(by_frame[frame]["fHi"]) == pytest.approx(1, abs=0.02) and float(by_frame[frame][prompt]) > 0
    for row in rows:
        assert (row[prompt] == "") == (float(row["fHi"]) == 0)  # the weight is 0 exactly when fHi is
    for first, second in zip(rows[2::2], rows[3::2]):  # the two steps of each frame read the same values
        assert first["frame"] == second["frame"] and first["fHi"] == second["fHi"]
    assert [row["frame"] for row in rows[:2]] == ["", ""]  # pre-animation reads frame 1's values
    assert rows[0]["fHi"] == by_frame["1"]["fHi"]
    for before, now in zip("123456789", "23456789"):
        assert by_frame[now]["fHi_prev"] == by_frame[before]["fHi"]


def variables_per_step(run, start: int = 0) -> list[dict[str, float]]:
    seen: list[dict[str, float]] = []
    run.run(start, [lambda report: seen.append(dict(report.variables))])
    return seen


def test_variables_exist_from_step_0_and_change_only_at_frame_boundaries(tmp_path: Path):
    pictures(tmp_path)
    run = build_run(build_plan(settings(direct_image_prompts="target.png:1 + beat")), CPU)
    seen = variables_per_step(run)
    assert set(seen[0]) == {"t", "fHi", "fHi_prev", "fHi_onset", "beat"}
    hook = next(hook for hook in run.loop.hooks if hook.name == "audio")
    for step, values in enumerate(seen):
        frame = max(step - 2, 0) // 2
        assert {name: value for name, value in values.items() if name != "t"} == hook.frames.values_at(frame)


def test_a_resumed_run_reads_the_same_variables(tmp_path: Path):
    """The run state round trip: stop after step 9 (inside frame 4), rebuild, load the state, continue."""
    (tmp_path / "song.wav").unlink(missing_ok=True)
    pictures(tmp_path)
    plan = build_plan(settings(pre_animation_steps=3, steps_per_frame=3, steps_per_scene=24))
    whole = variables_per_step(build_run(plan, CPU))
    first = build_run(plan, CPU)
    for step in range(10):
        first.loop.step(step)
    state = first.state()
    resumed = build_run(plan, CPU)
    resumed.load_state(state)
    assert resumed.variables.at(10) == whole[10]  # mid-frame: the values travel in the state
    assert variables_per_step(resumed, 10) == whole[10:]


def test_a_still_image_with_filters_follows_the_frame_timeline(tmp_path: Path):
    """animation_mode off: nothing moves, but the weights read the audio at the frames t walks through."""
    pictures(tmp_path)
    run = build_run(build_plan(settings(animation_mode="off")), CPU)
    seen = variables_per_step(run)
    assert [values["fHi"] for values in seen[:10]] == [0.0] * 10
    assert seen[-1]["fHi"] == pytest.approx(1, abs=0.02)


def test_a_missing_sound_stops_the_render_before_the_first_step(tmp_path: Path):
    pictures(tmp_path)
    with pytest.raises(InputFileError, match=r"input_audio: Cannot read the audio file gone.wav"):
        render(settings(input_audio="gone.wav"))
    assert not list(tmp_path.rglob("*.csv"))


def test_the_audio_command_writes_the_plot_and_the_table(tmp_path: Path, run_cli):
    pictures(tmp_path)
    (tmp_path / "config.yaml").write_text(
        "input_audio: song.wav\nframes_per_second: 4\ninput_audio_filters:\n"
        "- {variable_name: fHi, f_center: 900, f_width: 600}\n")
    done = run_cli("audio", "config.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    plot, table = (tmp_path / line for line in done.stdout.split())
    assert plot.name == "default.audio.png" and plot.read_bytes().startswith(b"\x89PNG")
    rows = read_log(table)
    assert len(rows) == 12 and list(rows[0]) == ["frame", "t", "waveform", "fHi", "fHi_prev", "fHi_onset", "beat"]
    assert [float(row["fHi"]) for row in rows[:4]] == [0] * 4
    assert np.allclose([float(row["fHi"]) for row in rows[5:]], 1, atol=0.02)
    assert float(rows[5]["t"]) == 1.25
    missing = run_cli("audio", "config.yaml", "input_audio=gone.wav", cwd=tmp_path)
    assert missing.returncode == 1 and "input_audio: Cannot read the audio file gone.wav" in missing.stderr
    assert "Traceback" not in missing.stderr
