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
from dreamloom.engine.device import resolve_device
from dreamloom.engine.frames import StepReport
from dreamloom.engine.interrupts import StepBoundaryInterrupt
from dreamloom.engine.run import build_run
from dreamloom.errors import DreamloomError, RenderInterrupted, SettingsError
from dreamloom.output.backups import Backup, BackupStore, latest_run, load_backup
from dreamloom.output.files import ensure_writable_folder
from dreamloom.output.naming import next_base_name
from dreamloom.output.run_frames import find_run_frames
from dreamloom.output.run_writer import RunPaths, RunWriter
from dreamloom.output.soundtrack import check_audio
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
    video: Path | None = None

    @property
    def final_picture(self) -> Path:
        return self.pictures[-1]


RENDERED_MODES = (AnimationMode.OFF, AnimationMode.TWO_D)


def check_supported(settings: Settings) -> None:
    """Refuse, before any work, settings whose machinery this version does not have yet, and check the
    soundtrack an animation's video will carry."""
    if settings.animation_mode not in RENDERED_MODES:
        raise SettingsError(
            f"animation_mode: {settings.animation_mode.value!r} is not available in dreamloom {__version__} yet; "
            "use off (a still image) or 2D."
        )
    if settings.input_audio_filters:
        raise SettingsError(
            f"input_audio_filters: audio reactivity is not available in dreamloom {__version__} yet; remove "
            "input_audio_filters (and the audio variables in your expressions). input_audio alone becomes the "
            "sound of the animation's video."
        )
    if settings.input_audio and exports_video(settings):
        check_audio(Path(settings.input_audio), "input_audio")


def exports_video(settings: Settings) -> bool:
    """Whether a finished run writes a video: animations do, unless ``video_format: off``."""
    return settings.animation_mode is not AnimationMode.OFF and settings.video_format is not VideoFormat.OFF


def render(settings: Settings, *, resume: bool = False, progress: bool = True) -> RenderResult:
    """Render ``settings``; with ``resume``, continue the newest interrupted run of its namespace.

    ``progress=False`` hides the progress bar and the ``display_every`` lines (files are written as usual).
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
        return _run(plan, paths, device, backup, progress)


def _latest_backup(folder: Path, namespace: str, device: torch.device) -> Backup:
    run = latest_run(folder, namespace)
    store = BackupStore(folder, run, "all") if run else None
    numbers = store.numbers() if store else []
    if store is None or not numbers:
        raise DreamloomError(f"--resume: no backup of {namespace!r} in {folder}. Start the run without --resume.")
    backup = load_backup(store.path(numbers[-1]), device)
    log.info("Resuming %s from step %d.", backup.base_name, backup.step)
    return backup


def _run(plan: Plan, paths: RunPaths, device: torch.device, backup: Backup | None, progress: bool) -> RenderResult:
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
    return RenderResult(paths.base_name, paths.folder, writer.pictures, video)


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
