"""The engine's file-writing subscriber: pictures, backups, loss log, previews, graphs, progress bar.

The engine reports each finished step; this object decides what each report means on disk, so the loop
itself stays free of I/O.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from dreamloom.engine.frames import StepReport
from dreamloom.output.backups import Backup, BackupStore
from dreamloom.output.display import clear_notebook, in_notebook, peak_memory, progress_line, save_loss_graph, show_preview
from dreamloom.output.files import save_png
from dreamloom.output.loss_log import CsvLossLog
from dreamloom.output.terminal_picture import half_block_lines, preview_columns
from dreamloom.plan import Timeline, audio_variable_names
from dreamloom.settings.choices import AnimationMode
from dreamloom.settings.schema import Settings

log = logging.getLogger("dreamloom")


@dataclass(frozen=True)
class RunPaths:
    """Where one run's files go: ``<folder>/<base>_*`` and backups in ``backup_folder``."""

    folder: Path
    backup_folder: Path
    base_name: str

    def picture(self, number: int) -> Path:
        """The ``number``-th saved picture, ``<base>_<number>.png`` (from 1, as pytti numbers them)."""
        return self.folder / f"{self.base_name}_{number}.png"

    def named(self, suffix: str) -> Path:
        return self.folder / f"{self.base_name}{suffix}"


class RunWriter:
    """Subscribes to step reports. ``snapshot(done)`` returns the backup of the current state.

    ``terminal_preview`` draws the picture in the terminal under each ``display_every`` line (never with
    ``progress`` off).
    """

    def __init__(
        self,
        settings: Settings,
        paths: RunPaths,
        *,
        timeline: Timeline,
        columns: list[str],
        device: torch.device,
        snapshot: Callable[[int], Backup],
        start: int = 0,
        progress: bool = True,
        terminal_preview: bool = False,
    ) -> None:
        self.settings = settings
        self.paths = paths
        self.timeline = timeline
        self.total_steps = timeline.total_steps
        self.animated = settings.animation_mode is not AnimationMode.OFF
        self.columns = columns
        self.device = device
        self.snapshot = snapshot
        self.pictures: list[Path] = []
        self.backups = BackupStore(paths.backup_folder, paths.base_name, settings.backups)
        self.variables = audio_variable_names([band.variable_name for band in settings.input_audio_filters])
        self.csv = CsvLossLog(paths.named("_losses.csv"), columns, timeline.frame_of if self.animated else None,
                              self.variables)
        self.csv.start(resumed_after=start)
        self._flushed = start
        self._variable_rows: list[list[float]] = []
        self._tensorboard = _open_tensorboard(paths) if settings.use_tensorboard else None
        self.progress = progress
        self.terminal_preview = terminal_preview and progress
        self._bar = tqdm(total=self.total_steps, initial=start, unit="step", desc=paths.base_name, leave=True,
                         disable=not progress)

    def __call__(self, report: StepReport) -> None:
        self._bar.update(1)
        if self.variables:
            self._variable_rows.append([report.variables[name] for name in self.variables])
        clear_every = self.settings.clear_every
        if clear_every and report.done % clear_every == 0 and in_notebook():
            clear_notebook()
        every = self.settings.display_every
        if every and report.done % every == 0:
            self.display(report)
        if self._is_save_point(report.done):
            self.save(report)

    def _is_save_point(self, done: int) -> bool:
        every = self.settings.save_every
        return done == self.total_steps or (every > 0 and done % every == 0)

    def picture_number(self, done: int) -> int:
        """PNG number of the picture after ``done`` steps: one per ``save_every`` steps, the end always saved."""
        every = self.settings.save_every
        return math.ceil(done / every) if every > 0 else 1

    def save(self, report: StepReport) -> None:
        """Write the picture, flush the loss log, then back up (the picture is never lost to a later crash)."""
        path = self.paths.picture(self.picture_number(report.done))
        save_png(report.model.to_pil(), path)
        self.pictures.append(path)
        self._save_palette(report)
        self._flush(report)
        self.backups.save(report.done, self.snapshot(report.done))
        if self.settings.show_graphs:
            save_loss_graph(self.columns, report.history.rows(0, report.done), self.paths.named("_losses.png"))

    def _save_palette(self, report: StepReport) -> None:
        """``show_palette``: the Limited Palette swatch beside the pictures (``<base>_palette.png``)."""
        if not self.settings.show_palette:
            return
        swatch = report.model.palette_swatch()
        if swatch is not None:
            save_png(swatch, self.paths.named("_palette.png"))

    def _flush(self, report: StepReport) -> None:
        self.csv.append(self._flushed, report.history.rows(self._flushed, report.done), self._variable_rows)
        self._flushed = report.done
        self._variable_rows = []

    def display(self, report: StepReport) -> None:
        """Progress line, preview, TensorBoard scalars and (if asked) peak memory, at ``display_every``."""
        values = dict(zip(self.columns, report.history.rows(report.done - 1, report.done)[0]))
        frames = (report.frame, self.timeline.frame_count) if self.animated else None
        line = progress_line(report.done, self.total_steps, report.scene, self.timeline.scene_count, report.t, values, frames)
        if self.settings.approximate_vram_usage:
            line += f" · {peak_memory(self.device)}"
        if self.progress:
            self._bar.write(line)
        picture = report.model.to_pil()
        if self.terminal_preview:
            self._bar.write("\n".join(half_block_lines(picture, preview_columns(sys.stdout))))
        show_preview(picture, self.settings.display_scale, self.paths.named("_preview.png"))
        self._save_palette(report)
        if self._tensorboard is not None:
            for name, value in values.items():
                if not math.isnan(value):
                    self._tensorboard.add_scalar(f"losses/{name}", value, report.done)
            with torch.no_grad():
                picture = report.model.decode()[0].clamp(0, 1).cpu()
            self._tensorboard.add_image("dreamloom output", picture, report.done)

    def interrupted(self, report: StepReport) -> Path:
        """Ctrl-C: keep the current picture and a backup to resume from; returns the backup's path."""
        save_png(report.model.to_pil(), self.paths.named("_interrupted.png"))
        self._flush(report)
        self.backups.save(report.done, self.snapshot(report.done), force=True)
        return self.backups.path(report.done)

    def close(self) -> None:
        self._bar.close()
        if self._tensorboard is not None:
            self._tensorboard.close()
        if self.settings.approximate_vram_usage:
            log.info("%s", peak_memory(self.device))


def _open_tensorboard(paths: RunPaths):
    """A writer in ``<folder>/tensorboard/<base>``: one TensorBoard run per dreamloom run, resumes included."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("use_tensorboard: TensorBoard is not installed (pip install tensorboard); continuing without it.")
        return None
    return SummaryWriter(str(paths.folder / "tensorboard" / paths.base_name))
