"""The studio's parts that need no browser: the scene view, progress from a render's output, the queue of
render processes, the gallery's files and the workspace's safe names."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from dreamloom.cli import main
from dreamloom.studio.gallery import latest_picture, list_runs, loss_rows, open_run
from dreamloom.studio.loss_chart import HEIGHT, MARGIN, WIDTH, loss_svg
from dreamloom.studio.runs import Job, JobState, RunQueue
from dreamloom.studio.scenes_view import scenes_html
from dreamloom.studio.server import StudioUnavailable
from dreamloom.studio.workspace import job_config, safe_name, store_upload


def test_the_scene_view_lists_prompts_with_weights_stops_and_masks():
    view = scenes_html("red:1_l | [cat.png]:2:-1 || <b>:sin(t)_[m.png]", variables=("t",))
    rows = view.split("<tbody>")[1].split("</tr>")[:-1]
    assert rows[0] == "<tr><td>1</td><td>red</td><td>text</td><td>1</td><td>-inf</td><td>l</td>"
    assert rows[1] == "<tr><td>1</td><td>[cat.png]</td><td>image</td><td>2</td><td>-1</td><td>whole image</td>"
    assert rows[2] == "<tr><td>2</td><td>&lt;b&gt;</td><td>text</td><td>sin(t)</td><td>-inf</td><td>[m.png]</td>"


def test_the_scene_view_shows_a_parse_error_with_a_caret_at_its_position():
    view = scenes_html("red | blue:1:zz", prefix="a ")
    assert view.startswith('<pre class="dl-scene-error">scenes: scene 1, prompt 2: ')
    text_line, caret_line = view.split("\n")[1:3]
    assert text_line.strip() == "blue:1:zz" and caret_line.index("^") == text_line.index("zz")


def test_the_scene_view_knows_the_audio_variables_it_is_given():
    assert "dl-scene-error" in scenes_html("red:fHi")
    assert "dl-scene-error" not in scenes_html("red:fHi", variables=("t", "fHi"))


def test_progress_lines_give_step_frame_scene_and_eta_and_bars_stay_out_of_the_log():
    job = Job(1, Path("c.yaml"), Path("out"), resume=False)
    job.read_line("step 10/100 · scene 1/2 · pre-animation · t=0.00s · red 0.9", now=100.0)
    assert job.progress is not None and job.progress.eta is None
    job.read_line("step 30/100 · scene 2/2 · frame 3/18 · t=0.17s · red 0.8", now=110.0)
    progress = job.progress
    assert (progress.done, progress.total, progress.scene, progress.scenes, progress.frame, progress.frames) == (30, 100, 2, 2, 3, 18)
    assert progress.eta == pytest.approx(10.0 / 20 * 70)
    job.read_line("s:  30%|███       | 30/100 [00:10<00:35,  2.00step/s]", now=111.0)
    job.read_line("Resuming s from step 50.", now=111.0)
    assert list(job.log) == ["Resuming s from step 50."]


FAKE_RENDER = """
import sys, time
print("step 1/9 · scene 1/1 · t=0.00s · red 0.5", flush=True)
if "--resume" in sys.argv:
    sys.exit(0)
try:
    time.sleep(60)
except KeyboardInterrupt:
    print("dreamloom: interrupted: Interrupted after 1 of 9 steps.", file=sys.stderr, flush=True)
    sys.exit(130)
"""


def test_the_queue_runs_one_render_at_a_time_stops_with_sigint_and_resumes(tmp_path, monkeypatch):
    """The render command is replaced by a stand-in that sleeps until SIGINT, as a long render would."""
    script = tmp_path / "fake_render.py"
    script.write_text(FAKE_RENDER, encoding="utf-8")
    monkeypatch.setattr(Job, "command", lambda job: [sys.executable, str(script), *(["--resume"] if job.resume else [])])
    queue = RunQueue(tmp_path)
    first = queue.submit(tmp_path / "a.yaml", tmp_path / "out")
    second = queue.submit(tmp_path / "b.yaml", tmp_path / "out")
    assert (first.state, second.state) == (JobState.RUNNING, JobState.QUEUED)
    _until(lambda: first.progress is not None)
    assert queue.stop() is first and first.state is JobState.STOPPING
    _until(lambda: second.progress is not None)
    assert first.state is JobState.INTERRUPTED and first.exit_code == 130
    assert list(first.log) == ["dreamloom: interrupted: Interrupted after 1 of 9 steps."]
    assert queue.resumable() is first
    third = queue.submit(first.config, first.folder, resume=True)
    assert queue.cancel_queued() == 1 and third.state is JobState.CANCELLED
    queue.close()
    assert second.state is JobState.INTERRUPTED
    resumed = queue.submit(first.config, first.folder, resume=True)
    _until(lambda: resumed.state is JobState.FINISHED)
    assert resumed.progress.done == 1 and queue.latest() is resumed and queue.resumable() is second


def test_a_job_runs_the_dreamloom_render_command():
    job = Job(1, Path("w/jobs/1-s.yaml"), Path("out/s"), resume=True)
    assert job.command() == [sys.executable, "-m", "dreamloom.cli", "render", "w/jobs/1-s.yaml", "--resume"]


def _until(condition, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _picture(path: Path) -> Path:
    Image.new("RGB", (4, 4), (200, 10, 10)).save(path)
    return path


def test_the_gallery_lists_runs_with_frames_video_and_settings_under_the_output_folder_only(tmp_path):
    root = tmp_path / "images_out"
    (root / "a").mkdir(parents=True)
    for number in (1, 2, 10):
        _picture(root / "a" / f"a_{number}.png")
    _picture(root / "a" / "a(1)_1.png")
    (root / "a" / "a.mp4").write_bytes(b"video")
    (root / "a" / "a_settings.yaml").write_text("cutouts: 8\n", encoding="utf-8")
    elsewhere = tmp_path / "private"
    elsewhere.mkdir()
    _picture(elsewhere / "p_1.png")
    os.symlink(elsewhere, root / "link")
    assert list_runs(root) == ["a/a", "a/a(1)"]
    run = open_run(root, "a/a")
    assert [path.name for path in run.frames] == ["a_1.png", "a_2.png", "a_10.png"]
    assert run.video == root / "a" / "a.mp4" and run.settings == root / "a" / "a_settings.yaml"
    assert open_run(root, "a/a(1)").video is None
    with pytest.raises(ValueError, match="not a run under"):
        open_run(root, "link/p")
    with pytest.raises(ValueError, match="not a run under"):
        open_run(root, "../private/p")


def test_the_latest_picture_and_losses_are_those_written_since_the_render_started(tmp_path):
    old = _picture(tmp_path / "s_1.png")
    os.utime(old, (1000, 1000))
    assert latest_picture(tmp_path, since=2000) is None and loss_rows(tmp_path, since=2000) == []
    preview = _picture(tmp_path / "s_preview.png")
    _picture(tmp_path / "s_losses.png")
    assert latest_picture(tmp_path, since=2000) == preview
    (tmp_path / "s_losses.csv").write_text("step,frame,red,blue\n1,1,0.5,0.25\n2,1,0.4,\n", encoding="utf-8")
    assert loss_rows(tmp_path, since=2000) == [{"step": 1, "frame": 1, "red": 0.5, "blue": 0.25}, {"step": 2, "frame": 1, "red": 0.4}]


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/pass wd", "pass_wd"), ("C:\\Users\\me\\mask.png", "mask.png"), (".hidden.png", "hidden.png"),
    ("", "upload"), ("..", "upload"), ("été;rm -rf.wav", "_t_rm_-rf.wav"), ("a" * 200 + ".png", "a" * 76 + ".png"),
])
def test_upload_names_are_made_safe(name, safe):
    assert safe_name(name) == safe


def test_uploads_and_job_configs_never_replace_an_earlier_file(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(b"picture")
    first = store_upload(tmp_path / "w", source, "../mask.png")
    second = store_upload(tmp_path / "w", source, "mask.png")
    third = store_upload(tmp_path / "w", source, "mask.png")
    assert [path.name for path in (first, second, third)] == ["mask.png", "mask-2.png", "mask-3.png"]
    assert first.parent == tmp_path / "w" / "uploads"
    assert second.read_bytes() == b"picture"
    assert job_config(tmp_path / "w", "demo", "a: 1\n").name == "1-demo.yaml"
    assert job_config(tmp_path / "w", "../x", "a: 2\n").name == "2-x.yaml"


def test_without_the_studio_extra_the_command_says_how_to_install_it(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "gradio" else real(name, *rest))
    assert main(["studio"]) == StudioUnavailable.exit_code
    assert "pip install 'dreamloom[studio]'" in capsys.readouterr().err


def test_the_loss_graph_draws_a_line_per_loss_column_across_the_steps_and_the_losses_range():
    rows = [{"step": 1, "frame": 1, "red": 1.0, "blue": 0.5}, {"step": 3, "frame": 1, "red": 0.0, "blue": float("nan")},
            {"step": 5, "frame": 2, "red": 0.5, "blue": 0.25}]
    svg = loss_svg(rows)
    lines = dict(re.findall(r'data-series="([^"]+)" points="([^"]+)"', svg))
    left, right, top, bottom = MARGIN, WIDTH - MARGIN, MARGIN, HEIGHT - MARGIN
    middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
    assert lines == {
        "red": f"{left:.1f},{top:.1f} {middle_x:.1f},{bottom:.1f} {right:.1f},{middle_y:.1f}",
        "blue": f"{left:.1f},{middle_y:.1f} {right:.1f},{(bottom + middle_y) / 2:.1f}",
    }
    assert "dl-losses-empty" in loss_svg([]) and "dl-losses-empty" in loss_svg([{"step": 1, "frame": 1}])


def test_the_studio_serves_only_its_folders_and_warns_when_it_listens_beyond_this_machine(tmp_path, monkeypatch, caplog):
    """The server's launch is recorded instead of run: what it would listen on and which folders it would serve."""
    import gradio

    from dreamloom.studio import app

    launched, built = {}, {}
    monkeypatch.setattr(gradio.Blocks, "launch", lambda page, **options: launched.update(options))
    page = app.build_page
    monkeypatch.setattr(app, "build_page", lambda studio: (built.update(studio=studio), page(studio))[1])
    for name in ("GRADIO_TEMP_DIR", "GRADIO_EXAMPLES_CACHE", "GRADIO_ANALYTICS_ENABLED"):
        monkeypatch.setenv(name, "")
    monkeypatch.chdir(tmp_path)
    assert main(["studio"]) == 0
    assert launched["server_name"] == "127.0.0.1" and launched["server_port"] == 7860
    assert launched["allowed_paths"] == [str(tmp_path / "images_out"), str(tmp_path / "studio_workspace")]
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "studio_workspace" / "cache")
    assert not [record for record in caplog.records if record.levelname == "WARNING"]
    assert main(["studio", "--host", "0.0.0.0", "--port", "8001", "--output", "renders", "--workspace", "w"]) == 0
    assert (launched["server_name"], launched["server_port"]) == ("0.0.0.0", 8001)
    assert launched["allowed_paths"] == [str(tmp_path / "renders"), str(tmp_path / "w")]
    assert built["studio"].initial["output_dir"] == "renders"  # the form renders where the studio shows
    assert "The studio listens on 0.0.0.0" in caplog.text
