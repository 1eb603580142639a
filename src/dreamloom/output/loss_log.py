"""``<base>_losses.csv``: the engine's loss history, flushed to CSV at save points."""

from __future__ import annotations

import csv
import math
from pathlib import Path


class CsvLossLog:
    """``<base>_losses.csv``: a ``step`` column then one column per loss; appended at each flush.

    Steps count from 1, like the progress line, the backups and TensorBoard: row n is the n-th step.
    """

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.path = path
        self.columns = columns

    def start(self, resumed_after: int) -> None:
        """Begin the file; when resuming after ``resumed_after`` steps, keep the rows of those steps only."""
        kept: list[list[str]] = []
        if resumed_after > 0 and self.path.exists():
            with self.path.open(newline="") as handle:
                rows = list(csv.reader(handle))[1:]
            kept = [row for row in rows if row and int(row[0]) <= resumed_after]
        with self.path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", *self.columns])
            writer.writerows(kept)

    def append(self, steps_before: int, rows: list[list[float]]) -> None:
        """Append the rows of the steps after the first ``steps_before``; step n is the n-th step (from 1)."""
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            for offset, row in enumerate(rows):
                writer.writerow([steps_before + offset + 1, *("" if math.isnan(v) else f"{v:.6g}" for v in row)])
