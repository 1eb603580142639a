"""State backups for ``--resume``: the run's named state at a step, kept ``backups`` deep.

Files are ``<backup_dir>/<namespace>/<base>_<n>.bak`` (pytti's layout), written atomically and read with
``weights_only=True`` so a backup can never execute code. The payload is versioned: ``state`` is a dict of
named parts (image, optimiser, generator, variables, one entry per frame hook), so later modules add their
own parts without a new format; a format-1 backup (fixed fields) still loads.
"""

from __future__ import annotations

import io
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dreamloom.errors import DreamloomError
from dreamloom.output.files import write_atomically
from dreamloom.output.naming import run_index

FORMAT = 2
FIXED_FIELDS_FORMAT = 1  # image, optimizer and generator as top-level fields


@dataclass(frozen=True)
class Backup:
    """What a run needs to continue exactly where it stopped: its step and seed, and the run's ``state``."""

    step: int
    base_name: str
    seed: int
    state: dict[str, Any]


class BackupStore:
    """The backups of one run (``base_name``) in ``folder``; keeps the newest ``keep`` (or all)."""

    def __init__(self, folder: Path, base_name: str, keep: int | str) -> None:
        self.folder = folder
        self.base_name = base_name
        self.keep = keep

    def path(self, number: int) -> Path:
        return self.folder / f"{self.base_name}_{number}.bak"

    def save(self, number: int, backup: Backup, *, force: bool = False) -> None:
        """Write backup ``number``; with ``backups: 0`` only a forced (Ctrl-C) backup is written."""
        if self.keep == 0 and not force:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT, "step": backup.step, "base_name": backup.base_name, "seed": backup.seed,
                   "state": backup.state}
        # Serialised in memory first: torch reports a full disk as a bare "unexpected pos" RuntimeError,
        # while a plain write raises the OSError (ENOSPC) that names the problem.
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        write_atomically(self.path(number), lambda temporary: temporary.write_bytes(buffer.getbuffer()))
        if self.keep not in ("all", 0):
            for old in self.numbers()[: -int(self.keep)]:
                self.path(old).unlink(missing_ok=True)

    def numbers(self) -> list[int]:
        """Backup numbers of this run, oldest first."""
        pattern = re.compile(re.escape(self.base_name) + r"_(\d+)\.bak")
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := pattern.fullmatch(p.name)))


def latest_run(folder: Path, namespace: str) -> str | None:
    """The base name of the newest run (highest index) that has backups in ``folder``."""
    if not folder.is_dir():
        return None
    indices = {run_index(p.name, namespace) for p in folder.iterdir() if p.suffix == ".bak"}
    indices.discard(None)
    if not indices:
        return None
    best = max(indices)
    return namespace if best == 0 else f"{namespace}({best})"


def load_backup(path: Path, device: torch.device) -> Backup:
    """Read a backup; a damaged file is a clear error naming it."""
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as error:
        raise DreamloomError(f"Backup {path} cannot be read ({type(error).__name__}). Delete it to resume from the one before.") from None
    version = payload.get("format") if isinstance(payload, dict) else None
    if version not in _ENTRIES:
        raise DreamloomError(
            f"Backup {path} was written by another version of dreamloom (format {version!r}; this one reads "
            f"{FIXED_FIELDS_FORMAT} and {FORMAT}); start the run again without --resume."
        )
    _check_entries(payload, _ENTRIES[version], path)
    state = payload["state"] if version == FORMAT else {name: payload[name] for name in _FIXED_PARTS}
    state["generator"] = state["generator"].cpu()
    return Backup(payload["step"], payload["base_name"], payload["seed"], state)


_FIXED_PARTS = ("image", "optimizer", "generator")
_ENTRIES = {
    FIXED_FIELDS_FORMAT: {"format": int, "step": int, "base_name": str, "seed": int, "image": dict, "optimizer": dict,
                          "generator": torch.Tensor},
    FORMAT: {"format": int, "step": int, "base_name": str, "seed": int, "state": dict},
}


def _check_entries(payload: dict[str, Any], entries: dict[str, type], path: Path) -> None:
    """Refuse a backup whose entries are missing, unexpected or of the wrong kind, naming them."""
    missing = sorted(set(entries) - set(payload))
    extra = sorted(map(str, set(payload) - set(entries)))
    wrong = sorted(name for name, kind in entries.items() if name in payload and not isinstance(payload[name], kind))
    state = payload.get("state")
    if "state" in entries and isinstance(state, dict):
        missing += [f"state.{name}" for name in _FIXED_PARTS if name not in state]
        if "generator" in state and not isinstance(state["generator"], torch.Tensor):
            wrong.append("state.generator")
    problems = [f"{label} {', '.join(names)}" for label, names in
                (("lacks", missing), ("holds unexpected", extra), ("holds the wrong kind of", wrong)) if names]
    if problems:
        raise DreamloomError(
            f"Backup {path} {'; '.join(problems)}: it was not written by this dreamloom, or was changed. Delete it "
            "to resume from the one before, or start the run again without --resume."
        )
