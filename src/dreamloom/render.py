"""``render(settings)``: settings → plan → run (engine) → files (output); the top of the pipeline.

Every check that can fail on user input (prompts, expressions, files, output folders, weights) runs before
the first step, so a mistake costs seconds, not a half-finished run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from dreamloom.version import __version__
from dreamloom.audio.decoding import check_audio
from dreamloom.engine.device import resolve_device
from dreamloom.engine.frames import StepReport
from dreamloom.engine.interrupts import StepBoundaryInterrupt
from dreamloom.engine.run import build_run
from dreamloom.errors import DreamloomError, RenderInterrupted, SettingsError
from dreamloom.output.backups import Backup, BackupStore, latest_run, load_backup
from dreamloom.output.display import peak_memory
from dreamloom.output.files import ensure_writable_folder
from dreamloom.output.naming import next_base_name
from dreamloom.output.run_frames import find_run_frames
from dreamloom.output.run_writer import RunPaths, RunWriter
from dreamloom.output.video import export_video
from dreamloom.plan import Plan, build_plan
from dreamloom.settings.dump import settings_to_yaml
from dreamloom.settings.choices import AnimationMode, VideoFormat
from dreamloom.settings.schema import Settings
from dreamloom.sources import downloads_once

log = logging.getLogger("dreamloom")


@dataclass(frozen=True)
class RenderResult:
    """What a finished render wrote: its pictures, and the video of an animation (None otherwise)."""

    base_name: str
    folder: Path
    pictures: list[Path]
    device: torch.device
    video: Path | None = None

    @property
    def final_picture(self) -> Path:
        return self.pictures[-1]

    def summary(self, seconds: float) -> list[str]:
        """What a person wants to read when the run ends: time, memory, where the pictures are, what next."""
        lines = [
            f"Finished in {_duration(seconds)} · {peak_memory(self.device)}.",
            f"Final picture: {self.final_picture} ({_count(len(self.pictures), 'picture')} written in {self.folder}).",
        ]
        if self.video is not None:
            lines.append(f"Video: {self.video}")
        elif len(self.pictures) > 1:
            lines.append(f"Make a video of them: dreamloom video {self.folder} --base '{self.base_name}'")
        return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _duration(seconds: float) -> str:
    """``41.3 s``, ``12 min 05 s`` or ``2 h 03 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


RENDERED_MODES = (AnimationMode.OFF, AnimationMode.TWO_D)


def check_supported(settings: Settings) -> None:
    """Refuse, before any work, settings whose machinery this version does not have yet, and check the
    sound that audio filters measure or an animation's video carries."""
    if settings.animation_mode not in RENDERED_MODES:
        raise SettingsError(
            f"animation_mode: {settings.animation_mode.value!r} is not available in dreamloom {__version__} yet; "
            "use off (a still image) or 2D."
        )
    if settings.input_audio and (exports_video(settings) or settings.input_audio_filters):
        check_audio(Path(settings.input_audio), "input_audio")


def exports_video(settings: Settings) -> bool:
    """Whether a finished run writes a video: animations do, unless ``video_format: off``."""
    return settings.animation_mode is not AnimationMode.OFF and settings.video_format is not VideoFormat.OFF


def render(
    settings: Settings, *, resume: bool = False, progress: bool = True, terminal_preview: bool = False
) -> RenderResult:
    """Render ``settings``; with ``resume``, continue the newest interrupted run of its namespace.

    ``progress=False`` hides the progress bar and the ``display_every`` lines (files are written as usual);
    ``terminal_preview`` draws the picture in the terminal with each ``display_every`` line.
    """
    plan = build_plan(settings)
    check_supported(settings)
    folder = Path(settings.output_dir) / settings.file_namespace
    backup_folder = Path(settings.backup_dir) / settings.file_namespace
    ensure_writable_folder(folder, "output_dir")
    ensure_writable_folder(backup_folder, "backup_dir")
    device = resolve_device(settings.device)
    backup = _latest_backup(backup_folder, settings.file_namespace, device) if resume else None
    if backup is not None:
        settings = settings.model_copy(update={"seed": backup.seed})
        plan = build_plan(settings)
    base_name = backup.base_name if backup else next_base_name(folder, settings.file_namespace, settings.allow_overwrite)
    paths = RunPaths(folder, backup_folder, base_name)
    with downloads_once():
        return _run(plan, paths, device, backup, progress, terminal_preview)


def _latest_backup(folder: Path, namespace: str, device: torch.device) -> Backup:
    run = latest_run(folder, namespace)
    store = BackupStore(folder, run, "all") if run else None
    numbers = store.numbers() if store else []
    if store is None or not numbers:
        raise DreamloomError(f"--resume: no backup of {namespace!r} in {folder}. Start the run without --resume.")
    backup = load_backup(store.path(numbers[-1]), device)
    log.info("Resuming %s from step %d.", backup.base_name, backup.step)
    return backup


def _run(
    plan: Plan, paths: RunPaths, device: torch.device, backup: Backup | None, progress: bool, terminal_preview: bool
) -> RenderResult:
    settings = plan.settings
    assert settings.seed is not None
    run = build_run(plan, device)
    start = 0
    if backup is not None:
        run.load_state(backup.state)
        start = backup.step
    else:
        paths.named("_settings.yaml").write_text(settings_to_yaml(settings), encoding="utf-8")

    def snapshot(done: int) -> Backup:
        return Backup(done, paths.base_name, settings.seed, run.state())

    writer = RunWriter(
        settings,
        paths,
        timeline=plan.timeline,
        columns=run.optimiser.columns,
        device=device,
        snapshot=snapshot,
        start=start,
        progress=progress,
        terminal_preview=terminal_preview,
    )
    last: list[StepReport] = []

    def remember(report: StepReport) -> None:
        last[:] = [report]

    boundary = StepBoundaryInterrupt()
    try:
        with boundary.installed():
            run.run(start, [writer, remember, boundary])
    except KeyboardInterrupt:
        if not last:
            raise RenderInterrupted("Interrupted before the first step finished; nothing to resume.") from None
        saved = writer.interrupted(last[0])
        raise RenderInterrupted(
            f"Interrupted after {last[0].done} of {plan.timeline.total_steps} steps. The backup is {saved}; "
            f"continue with the same command and --resume."
        ) from None
    finally:
        writer.close()
    video = _export(settings, paths) if exports_video(settings) else None
    return RenderResult(paths.base_name, paths.folder, writer.pictures, device, video)


def _export(settings: Settings, paths: RunPaths) -> Path:
    """The run's video from all its saved pictures (those before a resume too), with ``input_audio``."""
    fmt = settings.video_format
    frames = find_run_frames(paths.folder, paths.base_name).frames
    video = export_video(
        frames,
        paths.named(f".{fmt.value}"),
        fps=settings.frames_per_second,
        crf=settings.video_crf,
        fmt=fmt,
        audio=Path(settings.input_audio) if settings.input_audio else None,
        audio_offset=settings.input_audio_offset,
    )
    log.info("Video: %s", video)
    return video
