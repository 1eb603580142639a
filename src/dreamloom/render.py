"""``render(settings)``: settings → plan → run (engine) → files (output); the top of the pipeline.

Every check that can fail on user input (prompts, expressions, files, output folders, weights) runs before
the first step, so a mistake costs seconds, not a half-finished run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from dreamloom.audio.decoding import check_audio
from dreamloom.engine.camera3d import check_camera
from dreamloom.engine.device import resolve_device
from dreamloom.engine.frames import StepReport
from dreamloom.engine.interrupts import StepBoundaryInterrupt, StopAtStepBoundary
from dreamloom.engine.run import Run, build_run
from dreamloom.errors import DreamloomError, OutOfMemory, OutputError, RenderInterrupted, SettingsError
from dreamloom.failures import describe_os_error, is_out_of_memory, out_of_memory
from dreamloom.output.backups import Backup, BackupStore, latest_run, load_backup
from dreamloom.output.claims import RunClaim, claim_new_run, claim_run, tidy_namespace
from dreamloom.output.display import peak_memory
from dreamloom.output.files import check_writable_folder, ensure_writable_folder
from dreamloom.output.resume import SETTINGS_PART, check_resumable, recorded_settings, restore
from dreamloom.output.run_frames import find_run_frames
from dreamloom.output.run_writer import RunPaths, RunWriter
from dreamloom.output.video import export_video
from dreamloom.plan import Plan, build_plan
from dreamloom.settings.dump import settings_to_yaml
from dreamloom.settings.choices import AnimationMode, VideoFormat
from dreamloom.settings.schema import Settings
from dreamloom.sources import downloads_once
from dreamloom.video_frames import has_sound

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


def check_supported(settings: Settings) -> None:
    """Refuse, before any work, settings the machinery cannot honour (the 3D camera's choices) and check the
    sound that audio filters measure or an animation's video carries."""
    check_camera(settings)
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
    check_writable_folder(folder, "output_dir")
    check_writable_folder(backup_folder, "backup_dir")
    device = resolve_device(settings.device)
    backup = _latest_backup(backup_folder, settings.file_namespace, device) if resume else None
    if backup is not None:
        settings = settings.model_copy(update={"seed": backup.seed})
        plan = build_plan(settings)
        check_resumable(backup, settings, plan.timeline.total_steps)
    with downloads_once():
        run = build_run(plan, device)
        # Pre-flight is over (files, weights, device): only now do the run's folders appear.
        ensure_writable_folder(folder, "output_dir")
        ensure_writable_folder(backup_folder, "backup_dir")
        claim = _claim(folder, backup_folder, settings, backup)
        paths = RunPaths(folder, backup_folder, claim.base_name)
        try:
            return _run(plan, run, paths, device, backup, progress, terminal_preview)
        except OSError as error:
            raise OutputError(f"{describe_os_error(error)} {_what_is_kept(paths)}") from error
        except (MemoryError, RuntimeError) as error:
            if not is_out_of_memory(error):
                raise
            raise OutOfMemory(f"{out_of_memory()} {_what_is_kept(paths)}") from error
        finally:
            claim.release()


def _claim(folder: Path, backup_folder: Path, settings: Settings, backup: Backup | None) -> RunClaim:
    """Claim the run's base name (the backup's on resume), so no other render writes the same files, and
    remove what killed runs left behind (see :mod:`dreamloom.output.claims`)."""
    if backup is not None:
        claim = claim_run(folder, backup.base_name, "--resume continues it")
    else:
        claim = claim_new_run(folder, settings.file_namespace, settings.allow_overwrite)
    tidy_namespace(claim, (folder, backup_folder), settings.file_namespace)
    return claim


def _what_is_kept(paths: RunPaths) -> str:
    """Where a run that failed midway left its work, and how to go on from it."""
    try:
        pictures = len(find_run_frames(paths.folder, paths.base_name).frames)
    except (DreamloomError, OSError):
        pictures = 0
    kept = f"What was finished stays: {_count(pictures, 'picture')} in {paths.folder}." if pictures else "No picture was finished yet."
    numbers = BackupStore(paths.backup_folder, paths.base_name, "all").numbers()
    if not numbers:
        return kept
    return f"{kept} The last backup is from step {numbers[-1]}: once fixed, continue with the same command and --resume."


def _latest_backup(folder: Path, namespace: str, device: torch.device) -> Backup:
    run = latest_run(folder, namespace)
    store = BackupStore(folder, run, "all") if run else None
    numbers = store.numbers() if store else []
    if store is None or not numbers:
        raise DreamloomError(f"--resume: no backup of {namespace!r} in {folder}. Start the run without --resume.")
    backup = load_backup(store.path(numbers[-1]), device)
    if backup.base_name != run:
        raise DreamloomError(
            f"--resume: backup {store.path(numbers[-1])} names the run {backup.base_name!r}, not {run!r}: it was "
            "changed or moved. Delete it to resume from the one before, or start the run without --resume."
        )
    log.info("Resuming %s from step %d.", backup.base_name, backup.step)
    return backup


def _run(
    plan: Plan,
    run: Run,
    paths: RunPaths,
    device: torch.device,
    backup: Backup | None,
    progress: bool,
    terminal_preview: bool,
) -> RenderResult:
    settings = plan.settings
    assert settings.seed is not None
    start = 0
    if backup is not None:
        restore(run, backup)
        start = backup.step
    else:
        paths.named("_settings.yaml").write_text(settings_to_yaml(settings), encoding="utf-8")

    def snapshot(done: int) -> Backup:
        return Backup(done, paths.base_name, settings.seed, {**run.state(), SETTINGS_PART: recorded_settings(settings)})

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
    except KeyboardInterrupt as stop:
        if not last:
            raise RenderInterrupted("Interrupted before the first step finished; nothing to resume.") from None
        if not isinstance(stop, StopAtStepBoundary):  # a second Ctrl-C, inside a step: its state is not whole
            raise RenderInterrupted(_stopped_mid_step(last[0].done + 1, writer.backups.numbers())) from None
        saved = writer.interrupted(last[0])
        raise RenderInterrupted(
            f"Interrupted after {last[0].done} of {plan.timeline.total_steps} steps. The backup is {saved}; "
            f"continue with the same command and --resume."
        ) from None
    finally:
        writer.close()
    video = _export(settings, paths) if exports_video(settings) else None
    return RenderResult(paths.base_name, paths.folder, writer.pictures, device, video)


def _stopped_mid_step(step: int, backups: list[int]) -> str:
    """What a second Ctrl-C left: the step it cut short is not backed up, the newest backup is."""
    if not backups:
        return f"Stopped at once during step {step} (a second Ctrl-C); no backup was written yet, so there is nothing to resume."
    return (f"Stopped at once during step {step} (a second Ctrl-C), so that step was not backed up; the newest backup "
            f"is from step {backups[-1]}: continue from it with the same command and --resume.")


def _export(settings: Settings, paths: RunPaths) -> Path:
    """The run's video from all its saved pictures (those before a resume too), with ``input_audio``.

    A Video Source run keeps the source video's own sound when ``input_audio`` is empty, and plays at
    ``frames_per_second / frame_stride``, so that each picture shows when its video frame did.
    """
    fmt = settings.video_format
    frames = find_run_frames(paths.folder, paths.base_name).frames
    fps, audio, offset = settings.frames_per_second, None, settings.input_audio_offset
    if settings.input_audio:
        audio = Path(settings.input_audio)
    if settings.animation_mode is AnimationMode.VIDEO_SOURCE:
        fps /= settings.frame_stride
        if audio is None and has_sound(settings.video_path):
            audio, offset = Path(settings.video_path).expanduser(), 0.0
    video = export_video(
        frames,
        paths.named(f".{fmt.value}"),
        fps=fps,
        crf=settings.video_crf,
        fmt=fmt,
        audio=audio,
        audio_offset=offset,
    )
    log.info("Video: %s", video)
    return video
