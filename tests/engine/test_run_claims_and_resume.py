"""No clobbered run, no wrong backup: run names claimed atomically, leftovers of killed runs removed, a second
Ctrl-C never backs up half a step, and ``--resume`` refuses what its backup cannot honour."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
from pathlib import Path

import pytest
import torch
import yaml

import dreamloom.render as render_module
from dreamloom.cli import main
from dreamloom.engine.run import build_run
from dreamloom.engine.step import ImageOptimiser
from dreamloom.errors import DreamloomError, RenderInterrupted
from dreamloom.output.backups import load_backup
from dreamloom.output.claims import claim_new_run, claim_run
from dreamloom.plan import build_plan
from dreamloom.render import render
from dreamloom.settings.loading import load_settings

from .conftest import cli, write_config, write_picture

RED = (200, 30, 30)
CPU = torch.device("cpu")


def start(tmp_path: Path, monkeypatch, **settings) -> Path:
    """The config of a perceptor-free render in ``tmp_path`` (which holds its target picture)."""
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "target.png", [RED])
    values = {"scenes": " ", "direct_image_prompts": "target.png", "steps_per_scene": 4, "save_every": 2, "backups": "all"}
    values.update(settings)
    return write_config(tmp_path, **values)


def run_main(*arguments: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["-q", *arguments])
    return code, err.getvalue()


def logged_steps(path: Path) -> list[int]:
    return [int(row[0]) for row in list(csv.reader(path.open()))[1:]]


def hidden(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# ---- claiming the run's name ------------------------------------------------------------------------------

def test_a_render_starting_while_another_has_claimed_its_name_takes_the_next_one(tmp_path: Path, monkeypatch):
    """The second render looks for a name after the first chose one but before it wrote any file."""
    settings = load_settings(start(tmp_path, monkeypatch, file_namespace="cc"))
    inner: list = []
    write_settings = render_module.settings_to_yaml

    def start_another_render_first(values):
        if not inner:
            inner.append(None)
            inner[0] = render(settings.model_copy(update={"seed": 99}), progress=False)
        return write_settings(values)

    monkeypatch.setattr(render_module, "settings_to_yaml", start_another_render_first)
    outer = render(settings, progress=False)
    folder = tmp_path / "images_out" / "cc"
    assert (outer.base_name, inner[0].base_name) == ("cc", "cc(1)")
    for base, seed in (("cc", 5), ("cc(1)", 99)):
        assert yaml.safe_load((folder / f"{base}_settings.yaml").read_text())["seed"] == seed
        assert logged_steps(folder / f"{base}_losses.csv") == [1, 2, 3, 4]
    assert hidden(folder) == []  # the markers go with their runs


def test_two_renders_started_at_once_in_one_namespace_end_as_two_complete_runs(tmp_path: Path):
    write_picture(tmp_path / "target.png", [RED])
    write_config(tmp_path, scenes=" ", direct_image_prompts="target.png", steps_per_scene=12, save_every=4,
                 file_namespace="cc")
    processes = [cli("render", "config.yaml", f"seed={seed}", cwd=tmp_path) for seed in (7, 99)]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    folder, backups = tmp_path / "images_out" / "cc", tmp_path / "backup" / "cc"
    seeds = {yaml.safe_load((folder / f"{base}_settings.yaml").read_text())["seed"] for base in ("cc", "cc(1)")}
    assert seeds == {7, 99}
    for base in ("cc", "cc(1)"):
        assert logged_steps(folder / f"{base}_losses.csv") == list(range(1, 13))
        assert all((folder / f"{base}_{number}.png").is_file() for number in (1, 2, 3))
        assert {path.name for path in backups.glob(f"{base}_*.bak")} == {f"{base}_{n}.bak" for n in (4, 8, 12)}
    assert hidden(folder) == []


def test_a_claimed_name_is_busy_until_released_and_an_unheld_marker_blocks_nothing(tmp_path: Path):
    (tmp_path / ".ns.lock").write_text("")  # left by a killed run: no process holds it
    first = claim_new_run(tmp_path, "ns", allow_overwrite=False)
    second = claim_new_run(tmp_path, "ns", allow_overwrite=False)
    assert (first.base_name, second.base_name) == ("ns", "ns(1)")
    with pytest.raises(DreamloomError, match=r"^Another dreamloom process is rendering 'ns' in .* now \(allow_overwrite"):
        claim_new_run(tmp_path, "ns", allow_overwrite=True)
    first.release()
    second.release()
    assert hidden(tmp_path) == []
    with claim_run(tmp_path, "ns", "--resume continues it") as again:
        assert again.base_name == "ns"


def test_leftovers_of_killed_runs_go_and_those_of_a_live_run_stay(tmp_path: Path, monkeypatch):
    config = start(tmp_path, monkeypatch, file_namespace="ns")
    assert run_main("render", str(config)) == (0, "")
    folder, backups = tmp_path / "images_out" / "ns", tmp_path / "backup" / "ns"
    (backups / "ns_4.bak").unlink()  # killed after its step-2 backup ...
    killed = [folder / ".ns.lock", folder / ".ns_2.png.abcdefgh.tmp", backups / ".ns_4.bak.k1lled00.tmp",
              folder / ".ns.mp4.abcdefgh.tmp"]  # ... while writing its picture, backup and video
    live = claim_run(folder, "ns(7)", "test")  # another process renders ns(7) now
    kept = [folder / ".ns(7)_1.png.l1ve0000.tmp", backups / ".ns(7)_2.bak.l1ve0000.tmp"]
    for path in killed + kept:
        path.write_bytes(b"half")
    assert run_main("render", str(config), "--resume") == (0, "")
    assert [path for path in killed if path.exists()] == []
    assert all(path.exists() for path in kept)
    assert logged_steps(folder / "ns_losses.csv") == [1, 2, 3, 4]
    live.release()
    (folder / ".ns(7).lock").write_text("")  # as if ns(7) was killed: its marker stays behind, held by nobody
    assert run_main("render", str(config)) == (0, "")  # a new run: ns(1), and the dead ns(7)'s leftovers go
    assert (folder / "ns(1)_settings.yaml").is_file() and [path for path in kept if path.exists()] == []


# ---- interrupts -------------------------------------------------------------------------------------------

def test_a_second_ctrl_c_inside_a_step_writes_no_backup_of_that_step(tmp_path: Path, monkeypatch):
    settings = load_settings(start(tmp_path, monkeypatch, steps_per_scene=10, save_every=4))
    whole_step = ImageOptimiser.step

    def step_then_two_ctrl_c(self, step, *args, **kwargs):
        result = whole_step(self, step, *args, **kwargs)
        if step == 5:  # the 6th step has changed the picture and drawn from the generator, and is not over
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(ImageOptimiser, "step", step_then_two_ctrl_c)
    with pytest.raises(RenderInterrupted, match=r"^Stopped at once during step 6 \(a second Ctrl-C\), so that step was "
                                                r"not backed up; the newest backup is from step 4: continue from it"):
        render(settings, progress=False)
    assert sorted(path.name for path in (tmp_path / "backup" / "default").iterdir()) == ["default_4.bak"]


# ---- resume -----------------------------------------------------------------------------------------------

def test_resume_refuses_what_its_backup_cannot_honour_and_applies_the_rest(tmp_path: Path, monkeypatch):
    config = start(tmp_path, monkeypatch, steps_per_scene=6, save_every=3)
    assert run_main("render", str(config)) == (0, "")
    (tmp_path / "backup" / "default" / "default_6.bak").unlink()  # as if killed after step 3
    refusals = {
        "width=48": "--resume: width is 48 now but 32 in the run. A backup of 'default' can only continue",
        "image_model=Limited Palette": "--resume: image_model is 'Limited Palette' now but 'Unlimited Palette' in the run",
        "steps_per_scene=2": "--resume: the backup of 'default' is at step 3, and these settings end at step 2 "
                             "(steps_per_scene × scenes): nothing is left to render.",
    }
    for override, message in refusals.items():
        code, err = run_main("render", str(config), "--resume", override)
        assert code == 2 and err.startswith(f"dreamloom: error: {message}"), err
    assert run_main("render", str(config), "--resume", "steps_per_scene=8", "learning_rate=0.05") == (0, "")
    folder = tmp_path / "images_out" / "default"
    assert logged_steps(folder / "default_losses.csv") == list(range(1, 9))
    assert yaml.safe_load((folder / "default_settings.yaml").read_text())["steps_per_scene"] == 6  # the run's start


def test_a_resumed_optimiser_keeps_the_learning_rate_of_the_resuming_settings(tmp_path: Path, monkeypatch):
    settings = load_settings(start(tmp_path, monkeypatch, learning_rate=0.02))
    first = build_run(build_plan(settings), CPU)
    first.run(0, [])
    second = build_run(build_plan(settings.model_copy(update={"learning_rate": 0.05})), CPU)
    second.optimiser.load_state(first.optimiser.state())
    assert [group["lr"] for group in second.optimiser.optimizer.param_groups] == [0.05]
    moments = [state["exp_avg"] for state in second.optimiser.optimizer.state.values()]
    assert len(moments) == 1 and torch.equal(moments[0], next(iter(first.optimiser.optimizer.state.values()))["exp_avg"])


GOOD = {"format": 2, "step": 3, "base_name": "default", "seed": 5,
        "state": {"image": {}, "optimizer": {}, "generator": torch.zeros(8, dtype=torch.uint8)}}


@pytest.mark.parametrize(("change", "message"), [
    ({"seed": None}, "lacks seed"),
    ({"surprise": 1}, "holds unexpected surprise"),
    ({"step": "3"}, "holds the wrong kind of step"),
    ({"state": {"image": {}, "optimizer": {}}}, "lacks state.generator"),
    ({"state": {"image": {}, "optimizer": {}, "generator": [1, 2]}}, "holds the wrong kind of state.generator"),
])
def test_a_backup_with_missing_extra_or_odd_entries_is_refused_by_name(tmp_path: Path, change: dict, message: str):
    payload = {key: value for key, value in {**GOOD, **change}.items() if value is not None}
    path = tmp_path / "default_3.bak"
    torch.save(payload, path)
    with pytest.raises(DreamloomError, match=f"^Backup {path} {message}: it was not written by this dreamloom"):
        load_backup(path, CPU)


def test_a_backup_that_names_another_run_or_does_not_fit_is_one_clear_error(tmp_path: Path, monkeypatch):
    config = start(tmp_path, monkeypatch, steps_per_scene=6, save_every=3)
    assert run_main("render", str(config)) == (0, "")
    backups = tmp_path / "backup" / "default"
    (backups / "default_6.bak").unlink()
    payload = torch.load(backups / "default_3.bak", weights_only=True)
    torch.save({**payload, "base_name": "../../elsewhere"}, backups / "default_3.bak")
    code, err = run_main("render", str(config), "--resume")
    assert code == 1 and "names the run '../../elsewhere', not 'default': it was changed or moved" in err
    state = {key: value for key, value in payload["state"].items() if key != "settings"}  # as an older backup
    state["image"] = {name: tensor[..., :5] for name, tensor in state["image"].items()}
    torch.save({**payload, "state": state}, backups / "default_3.bak")
    code, err = run_main("render", str(config), "--resume")
    assert code == 1 and err.startswith("dreamloom: error: --resume: the backup of 'default' at step 3 does not fit the run")
    assert err.count("\n") == 1
