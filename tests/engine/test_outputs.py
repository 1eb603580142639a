"""Run naming, backups, the loss history and the CSV log."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest
import torch
from PIL import Image

from dreamloom.output.backups import Backup, BackupStore, latest_run, load_backup
from dreamloom.errors import DreamloomError
from dreamloom.engine.history import LossHistory
from dreamloom.output.files import save_png
from dreamloom.output.loss_log import CsvLossLog
from dreamloom.output.naming import next_base_name, run_index


def test_run_index_parsing():
    assert run_index("forest_1.png", "forest") == 0
    assert run_index("forest(3)_12.png", "forest") == 3
    assert run_index("forest(3)_settings.yaml", "forest") == 3
    assert run_index("forestry_1.png", "forest") is None


def test_next_base_name(tmp_path: Path):
    assert next_base_name(tmp_path / "missing", "ns", allow_overwrite=False) == "ns"
    (tmp_path / "ns_1.png").touch()
    assert next_base_name(tmp_path, "ns", allow_overwrite=False) == "ns(1)"
    (tmp_path / "ns(1)_settings.yaml").touch()
    (tmp_path / "ns(3)_1.png").touch()
    assert next_base_name(tmp_path, "ns", allow_overwrite=False) == "ns(2)"
    assert next_base_name(tmp_path, "ns", allow_overwrite=True) == "ns"


def _state(step: int) -> dict:
    return {
        "image": {"tensor": torch.full((1, 3, 2, 2), float(step))},
        "optimizer": {"state": {}, "param_groups": []},
        "generator": torch.Generator().manual_seed(step).get_state(),
        "hooks": {"motion": {"offset": torch.tensor([0.25 * step, 0.0])}},
    }


def _backup(step: int) -> Backup:
    return Backup(step, "ns", 7, _state(step))


def test_backups_keep_the_newest(tmp_path: Path):
    store = BackupStore(tmp_path, "ns", 2)
    for step in (10, 20, 30):
        store.save(step, _backup(step))
    assert store.numbers() == [20, 30]
    loaded = load_backup(store.path(30), torch.device("cpu"))
    assert loaded.step == 30 and loaded.seed == 7 and loaded.base_name == "ns"
    assert torch.equal(loaded.state["image"]["tensor"], torch.full((1, 3, 2, 2), 30.0))
    assert torch.equal(loaded.state["generator"], torch.Generator().manual_seed(30).get_state())
    assert torch.equal(loaded.state["hooks"]["motion"]["offset"], torch.tensor([7.5, 0.0]))  # named parts survive


def test_format_one_backups_still_load(tmp_path: Path):
    """Backups written before the state became a dict of named parts (format 1) resume."""
    state = _state(4)
    payload = {"format": 1, "step": 4, "base_name": "ns", "seed": 7, "image": state["image"],
               "optimizer": state["optimizer"], "generator": state["generator"]}
    torch.save(payload, tmp_path / "ns_4.bak")
    loaded = load_backup(tmp_path / "ns_4.bak", torch.device("cpu"))
    assert loaded.step == 4 and set(loaded.state) == {"image", "optimizer", "generator"}
    assert torch.equal(loaded.state["image"]["tensor"], state["image"]["tensor"])


@pytest.mark.parametrize("payload", [{"format": 99, "step": 1}, {"step": 1}, [1, 2]])
def test_unknown_backup_formats_are_refused_clearly(tmp_path: Path, payload):
    torch.save(payload, tmp_path / "ns_1.bak")
    with pytest.raises(DreamloomError, match=r"ns_1.bak was written by another version of dreamloom"):
        load_backup(tmp_path / "ns_1.bak", torch.device("cpu"))


def test_backups_are_numbered_numerically_across_digit_boundaries(tmp_path: Path):
    """As strings "100" < "50": pruning would then delete the newest backups and --resume restart at step 50."""
    store = BackupStore(tmp_path, "ns", 2)
    for step in (50, 100, 150, 200):
        store.save(step, _backup(step))
    assert store.numbers() == [150, 200]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ns_150.bak", "ns_200.bak"]
    assert load_backup(store.path(store.numbers()[-1]), torch.device("cpu")).step == 200  # what --resume loads
    every = BackupStore(tmp_path / "all", "ns", "all")
    for step in (1000, 9, 100, 10, 99):
        every.save(step, _backup(step))
    assert every.numbers() == [9, 10, 99, 100, 1000]


def test_backups_all_and_none(tmp_path: Path):
    keep_all = BackupStore(tmp_path / "a", "ns", "all")
    for step in range(1, 6):
        keep_all.save(step, _backup(step))
    assert keep_all.numbers() == [1, 2, 3, 4, 5]
    none = BackupStore(tmp_path / "b", "ns", 0)
    none.save(1, _backup(1))
    assert none.numbers() == []
    none.save(2, _backup(2), force=True)
    assert none.numbers() == [2]


def test_backups_make_their_folder_and_keep_one_when_asked(tmp_path: Path):
    store = BackupStore(tmp_path / "deep" / "er", "ns", 1)
    for step in (1, 2, 3):
        store.save(step, _backup(step))
    assert store.numbers() == [3]


def test_a_backup_that_would_run_code_is_refused(tmp_path: Path):
    """Backups are read with weights_only: a pickled object of another kind never gets unpickled."""
    torch.save({"format": 2, "step": 1, "base_name": "ns", "seed": 1, "state": {"x": Path("evil")}}, tmp_path / "ns_1.bak")
    with pytest.raises(DreamloomError, match=r"ns_1.bak cannot be read \(UnpicklingError\)"):
        load_backup(tmp_path / "ns_1.bak", torch.device("cpu"))


def test_latest_run_without_an_index_is_the_namespace(tmp_path: Path):
    BackupStore(tmp_path, "ns", 3).save(5, _backup(5))
    assert latest_run(tmp_path, "ns") == "ns"


def test_latest_run_picks_highest_index(tmp_path: Path):
    BackupStore(tmp_path, "ns", 3).save(5, _backup(5))
    BackupStore(tmp_path, "ns(2)", 3).save(5, _backup(5))
    assert latest_run(tmp_path, "ns") == "ns(2)"
    assert latest_run(tmp_path / "nothing", "ns") is None


def test_damaged_backup_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "ns_5.bak"
    path.write_bytes(b"not a backup")
    with pytest.raises(DreamloomError, match=r"ns_5.bak cannot be read"):
        load_backup(path, torch.device("cpu"))


def test_history_and_csv_resume(tmp_path: Path):
    history = LossHistory(["a", "b"], 4, torch.device("cpu"))
    for step in range(4):
        history.record(step, torch.tensor([step * 1.0, math.nan]))
    log = CsvLossLog(tmp_path / "l.csv", ["a", "b"])
    log.start(resumed_after=0)
    log.append(0, history.rows(0, 4))
    assert (tmp_path / "l.csv").read_text().splitlines() == ["step,a,b", "1,0,", "2,1,", "3,2,", "4,3,"]
    log.start(resumed_after=2)  # resuming after 2 steps drops rows written after the backup
    log.append(2, history.rows(2, 3))
    assert (tmp_path / "l.csv").read_text().splitlines() == ["step,a,b", "1,0,", "2,1,", "3,2,"]


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_written_files_get_the_permissions_of_normally_created_files(tmp_path: Path, umask: int):
    previous = os.umask(umask)
    try:
        save_png(Image.new("RGB", (2, 2)), tmp_path / "a.png")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o666 & ~umask
