"""``<base>_losses.csv``: the engine's loss history, flushed to CSV at save points."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from pathlib import Path


class CsvLossLog:
    """``<base>_losses.csv``: a ``step`` column, for animations a ``frame`` column, one column per loss, then
    one per audio variable (``variables``: the values the step's expressions read); appended at each flush.

    Steps and frames count from 1, like the progress line, the backups and TensorBoard: row n is the n-th
    step; its frame is empty during pre-animation. ``frame_of`` maps a global step (from 0) to its frame
    index (from 0, −1 in pre-animation); None for still images, which have no frame column.
    """

    def __init__(self, path: Path, columns: list[str], frame_of: Callable[[int], int] | None = None,
                 variables: Sequence[str] = ()) -> None:
        self.path = path
        self.columns = columns
        self.frame_of = frame_of
        self.variables = list(variables)

    def start(self, resumed_after: int) -> None:
        """Begin the file; when resuming after ``resumed_after`` steps, keep the rows of those steps only."""
        kept: list[list[str]] = []
        if resumed_after > 0 and self.path.exists():
            with self.path.open(newline="") as handle:
                rows = list(csv.reader(handle))[1:]
            kept = [row for row in rows if row and int(row[0]) <= resumed_after]
        with self.path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", *(["frame"] if self.frame_of else []), *self.columns, *self.variables])
            writer.writerows(kept)

    def append(self, steps_before: int, rows: list[list[float]], variables: Sequence[Sequence[float]] = ()) -> None:
        """Append the rows of the steps after the first ``steps_before``; step n is the n-th step (from 1).
        ``variables`` holds each step's values of the variable columns (one row per step when there are any)."""
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            for offset, row in enumerate(rows):
                step = steps_before + offset
                frame = [] if self.frame_of is None else [_frame_number(self.frame_of(step))]
                values = [*row, *(variables[offset] if self.variables else ())]
                writer.writerow([step + 1, *frame, *("" if math.isnan(v) else f"{v:.6g}" for v in values)])


def _frame_number(index: int) -> int | str:
    """A frame index (from 0) as the log writes it: from 1, empty during pre-animation (index −1)."""
    return index + 1 if index >= 0 else ""
