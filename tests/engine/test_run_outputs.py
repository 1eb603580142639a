"""Render outputs shown while a run goes (issue 6 item 4): loss graphs, progress lines and previews, notebook
display, peak memory, TensorBoard, the progress bar, and a loss log that costs no host sync per step.

Every render here has no perceptor (a direct image prompt on a 32×32 canvas), so each takes a second or two.
"""

from __future__ import annotations

import csv
import logging
import re
import resource
import sys
import types
from pathlib import Path

import matplotlib
import pytest
import torch
from PIL import Image

import dreamloom
from dreamloom.render import render
from dreamloom.output import display as display_module
from dreamloom.output.display import in_notebook, save_loss_graph
from dreamloom.engine.history import LossHistory
from dreamloom.plan import build_plan
from dreamloom.settings.loading import load_settings

from .conftest import write_config, write_picture

RED = (200, 30, 30)
COLUMNS = ["target.png (direct)", "smoothing loss (TV)"]


def start(tmp_path: Path, monkeypatch, **settings):
    """Settings of a perceptor-free render in ``tmp_path`` (the folder holding the target picture)."""
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "target.png", [RED])
    values = dict(scenes=" ", direct_image_prompts="target.png", steps_per_scene=6, save_every=0)
    values.update(settings)
    return load_settings(write_config(tmp_path, **values))


def csv_rows(path: Path) -> dict[int, list[float]]:
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["step", *COLUMNS]
    return {int(row[0]): [float(value) for value in row[1:]] for row in rows[1:]}


def out_folder(tmp_path: Path) -> Path:
    return tmp_path / "images_out" / "default"


# 1. show_graphs


def test_show_graphs_writes_the_loss_graph_png_at_save_points(tmp_path: Path, monkeypatch):
    settings = start(tmp_path, monkeypatch, show_graphs=True, save_every=3)
    graph = out_folder(tmp_path) / "default_losses.png"
    sizes_at_saves = []
    original = display_module.save_loss_graph

    def recording(columns, rows, path):
        original(columns, rows, path)
        sizes_at_saves.append((len(rows), Image.open(path).size))

    monkeypatch.setattr("dreamloom.output.run_writer.save_loss_graph", recording)
    render(settings)
    dpi = matplotlib.rcParams["figure.dpi"]
    expected = (round(10 * dpi), round(5 * dpi))
    assert sizes_at_saves == [(3, expected), (6, expected)]  # every step so far, at saves 3 and 6
    with Image.open(graph) as image:
        assert image.format == "PNG" and image.size == expected


def test_no_loss_graph_without_show_graphs(tmp_path: Path, monkeypatch):
    render(start(tmp_path, monkeypatch, save_every=3))
    assert (out_folder(tmp_path) / "default_1.png").exists()
    assert not (out_folder(tmp_path) / "default_losses.png").exists()


def test_loss_graph_leaves_matplotlibs_backend_alone(tmp_path: Path):
    """A notebook's inline backend must survive a render with show_graphs (no global backend switch)."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        save_loss_graph(["a", "b"], [[1.0, float("nan")], [0.5, float("nan")]], tmp_path / "g.png")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    with Image.open(tmp_path / "g.png") as image:
        assert image.format == "PNG"


# 2. display_every: progress lines and the preview file


def parse_line(line: str) -> tuple[int, int, int, int, float, dict[str, float]]:
    match = re.fullmatch(r"step (\d+)/(\d+) · scene (\d+)/(\d+) · t=(-?\d+\.\d\d)s · (.*)", line)
    assert match, line
    losses = {}
    for part in match.group(6).split(", "):
        name, value = part.rsplit(" ", 1)
        losses[name] = float(value)
    done, total, scene, scenes = (int(match.group(k)) for k in range(1, 5))
    return done, total, scene, scenes, float(match.group(5)), losses


def test_display_every_prints_progress_lines_with_the_csv_losses(tmp_path: Path, monkeypatch, capsys):
    settings = start(tmp_path, monkeypatch, scenes=" || ", steps_per_scene=5, display_every=3)
    render(settings)
    lines = capsys.readouterr().out.splitlines()
    parsed = [parse_line(line) for line in lines]
    assert [p[0] for p in parsed] == [3, 6, 9]
    assert [(p[1], p[2], p[3]) for p in parsed] == [(10, 1, 2), (10, 2, 2), (10, 2, 2)]
    timeline = build_plan(settings).timeline
    assert [p[4] for p in parsed] == [round(timeline.time_of(done - 1), 2) for done in (3, 6, 9)]
    logged = csv_rows(out_folder(tmp_path) / "default_losses.csv")
    for done, _, _, _, _, losses in parsed:
        assert list(losses) == COLUMNS
        assert list(losses.values()) == pytest.approx(logged[done], abs=5e-4)  # CSV step n = n-th step


@pytest.mark.parametrize(("scale", "size"), [(1, (32, 32)), (2, (64, 64)), (1.5, (48, 48)), (0.7, (22, 22))])
def test_preview_file_follows_display_scale(tmp_path: Path, monkeypatch, scale, size):
    render(start(tmp_path, monkeypatch, steps_per_scene=2, display_every=1, display_scale=scale))
    with Image.open(out_folder(tmp_path) / "default_preview.png") as preview:
        assert preview.size == size


def test_no_progress_lines_or_preview_without_display_every(tmp_path: Path, monkeypatch, capsys):
    render(start(tmp_path, monkeypatch, display_every=0))
    assert capsys.readouterr().out == ""
    assert not (out_folder(tmp_path) / "default_preview.png").exists()


# 3. notebooks


def fake_ipython(monkeypatch, shell) -> list[tuple]:
    """Install a fake ``IPython`` whose ``get_ipython()`` returns ``shell``; returns the display calls made."""
    calls: list[tuple] = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    shown = types.ModuleType("IPython.display")
    shown.display = lambda image: calls.append(("display", image.size))
    shown.clear_output = lambda wait=False: calls.append(("clear", wait))
    ipython.display = shown
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", shown)
    return calls


def kernel_shell() -> types.SimpleNamespace:
    return types.SimpleNamespace(kernel=object())


def test_in_notebook_needs_a_kernel(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    fake_ipython(monkeypatch, None)  # IPython imported, but not running
    assert not in_notebook()
    fake_ipython(monkeypatch, types.SimpleNamespace(user_ns={}))  # terminal IPython: a shell without a kernel
    assert not in_notebook()
    fake_ipython(monkeypatch, kernel_shell())
    assert in_notebook()


def test_notebook_shows_previews_inline_and_clears_every_clear_every(tmp_path: Path, monkeypatch):
    calls = fake_ipython(monkeypatch, kernel_shell())
    render(start(tmp_path, monkeypatch, steps_per_scene=9, display_every=1, clear_every=3, display_scale=2))
    shown = ("display", (64, 64))
    assert calls == [shown, shown, ("clear", True), shown, shown, shown, ("clear", True), shown,
                     shown, shown, ("clear", True), shown]
    assert not (out_folder(tmp_path) / "default_preview.png").exists()


def test_notebook_clears_at_clear_every_even_between_displays(tmp_path: Path, monkeypatch):
    calls = fake_ipython(monkeypatch, kernel_shell())
    render(start(tmp_path, monkeypatch, steps_per_scene=6, display_every=2, clear_every=3, display_scale=0.5))
    shown = ("display", (16, 16))
    assert calls == [shown, ("clear", True), shown, ("clear", True), shown]  # clears at 3 and 6, shows at 2, 4, 6


# 4. approximate_vram_usage


def test_approximate_vram_usage_reports_peak_resident_memory(tmp_path: Path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.INFO, logger="dreamloom")
    render(start(tmp_path, monkeypatch, steps_per_scene=4, display_every=2, approximate_vram_usage=True))
    measured = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line in lines:
        match = re.search(r" · peak resident memory (\d+) MiB$", line)
        assert match, line
        assert abs(int(match.group(1)) - measured) <= 4
    final = [record.getMessage() for record in caplog.records if record.name == "dreamloom"][-1]
    match = re.fullmatch(r"peak resident memory (\d+) MiB", final)
    assert match, final
    assert abs(int(match.group(1)) - measured) <= 1


def test_no_memory_report_without_approximate_vram_usage(tmp_path: Path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.INFO, logger="dreamloom")
    render(start(tmp_path, monkeypatch, steps_per_scene=2, display_every=1))
    out = capsys.readouterr().out
    assert out.count("step ") == 2 and "memory" not in out
    assert not [r for r in caplog.records if "memory" in r.getMessage()]


# 5. TensorBoard


def test_tensorboard_logs_loss_scalars_and_pictures_at_display_steps(tmp_path: Path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    render(start(tmp_path, monkeypatch, steps_per_scene=6, display_every=2, use_tensorboard=True))
    events = out_folder(tmp_path) / "tensorboard" / "default"
    assert list(events.glob("events.out.tfevents.*"))
    accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    logged = csv_rows(out_folder(tmp_path) / "default_losses.csv")
    assert sorted(accumulator.Tags()["scalars"]) == sorted(f"losses/{name}" for name in COLUMNS)
    for index, name in enumerate(COLUMNS):
        scalars = accumulator.Scalars(f"losses/{name}")
        assert [s.step for s in scalars] == [2, 4, 6]
        assert [s.value for s in scalars] == pytest.approx([logged[done][index] for done in (2, 4, 6)], rel=1e-5)
    images = accumulator.Images("dreamloom output")
    assert [(i.step, i.width, i.height) for i in images] == [(2, 32, 32), (4, 32, 32), (6, 32, 32)]


def test_missing_tensorboard_is_a_warning_not_a_failure(tmp_path: Path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    result = render(start(tmp_path, monkeypatch, steps_per_scene=2, display_every=1, use_tensorboard=True))
    assert result.final_picture.exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "dreamloom"]
    assert len(warnings) == 1
    assert "use_tensorboard" in warnings[0] and "pip install tensorboard" in warnings[0]
    assert not (out_folder(tmp_path) / "tensorboard").exists()


# 6. progress bar


def bar_counts(stderr: str, total: int) -> list[int]:
    """The ``n`` of every ``n/total`` a tqdm bar drew, in order."""
    return [int(n) for n in re.findall(rf"(\d+)/{total} \[", stderr)]


def test_one_progress_bar_for_every_step_of_every_scene(tmp_path: Path, monkeypatch, capsys):
    render(start(tmp_path, monkeypatch, scenes=" || ", steps_per_scene=5))
    err = capsys.readouterr().err
    counts = bar_counts(err, 10)
    assert counts[0] == 0 and counts[-1] == 10 and counts == sorted(counts)
    assert set(re.findall(r"\| *\d+/(\d+) \[", err)) == {"10"}  # a single bar: no per-scene totals


def test_progress_bar_starts_at_the_resumed_step(tmp_path: Path, monkeypatch, capsys):
    settings = start(tmp_path, monkeypatch, steps_per_scene=6, save_every=3, backups="all")
    render(settings)
    (tmp_path / "backup" / "default" / "default_6.bak").unlink()
    capsys.readouterr()
    render(settings, resume=True)
    counts = bar_counts(capsys.readouterr().err, 6)
    assert counts[0] == 3 and counts[-1] == 6 and counts == sorted(counts)


# 7. the loss log costs no host sync per step

DREAMLOOM = str(Path(dreamloom.__file__).parent)
TORCH_OPTIM = str(Path(torch.optim.__file__).parent)


def from_dreamloom(frame) -> bool:
    """Whether a call comes from dreamloom's code (also through torch helpers such as ``Tensor.__format__``),
    but not from inside torch's optimisers, whose step counter lives on the CPU and costs no device sync."""
    files = []
    while frame is not None:
        files.append(frame.f_code.co_filename)
        frame = frame.f_back
    return not any(f.startswith(TORCH_OPTIM) for f in files) and any(f.startswith(DREAMLOOM) for f in files)


def test_steps_between_save_points_read_nothing_back_to_the_host(tmp_path: Path, monkeypatch):
    """No dreamloom code may call .item()/.tolist()/.cpu()/float() on a tensor except at save or display steps
    (torch's own CPU-side Adam step counter is not a device sync and is ignored); the CSV grows only at saves."""
    settings = start(tmp_path, monkeypatch, steps_per_scene=10, save_every=4)
    log_file = out_folder(tmp_path) / "default_losses.csv"
    events: list = []
    for name in ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            if from_dreamloom(sys._getframe(1)):
                events.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    record = LossHistory.record

    def recording(self, step, row):
        events.append(("step", step, len(log_file.read_text().splitlines()) - 1))
        record(self, step, row)

    monkeypatch.setattr(LossHistory, "record", recording)
    render(settings)
    steps = [(i, event) for i, event in enumerate(events) if isinstance(event, tuple)]
    assert [rows for _, (_, _, rows) in steps] == [0, 0, 0, 0, 4, 4, 4, 4, 8, 8]  # flushed only at saves 4 and 8
    between = [events[a + 1:b] for (a, _), (b, (_, step, _)) in zip(steps, steps[1:]) if step % 4 != 0]
    assert between == [[] for _ in between]  # steps 1-3, 5-7 and 9: no read-back at all
    after_save = [events[a + 1:b] for (a, _), (b, (_, step, _)) in zip(steps, steps[1:]) if step % 4 == 0]
    assert all(reads for reads in after_save)  # the check sees the saves' read-backs, so it can see one
    assert len(log_file.read_text().splitlines()) == 11
