"""The audio variables of a run: its settings' filters analysed once, served to expressions frame by frame.

The analysis reads ``input_audio`` before the first step, so a missing or silent file stops the run at once,
with a message that names the setting.
"""

from __future__ import annotations

from pathlib import Path

from dreamloom.audio.analysis import AudioFrames, analyse
from dreamloom.audio.bands import Band
from dreamloom.audio.decoding import check_audio, mono_samples
from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.errors import InputFileError
from dreamloom.plan.variables import StepVariables
from dreamloom.settings.schema import AUDIO_ANALYSIS_RATE, Settings


def settings_bands(settings: Settings) -> list[Band]:
    """The settings' ``input_audio_filters`` as the analysis takes them."""
    return [
        Band(band.variable_name, band.f_center, band.f_width, band.order, band.attack, band.release)
        for band in settings.input_audio_filters
    ]


def analyse_settings(settings: Settings) -> AudioFrames:
    """Analyse ``input_audio`` from ``input_audio_offset`` with the settings' filters at ``frames_per_second``."""
    path = Path(settings.input_audio)
    check_audio(path, "input_audio")
    frames = analyse(
        mono_samples(path, AUDIO_ANALYSIS_RATE, settings.input_audio_offset),
        rate=AUDIO_ANALYSIS_RATE,
        fps=settings.frames_per_second,
        bands=settings_bands(settings),
        beat_half_life=settings.input_audio_beat_half_life,
    )
    if frames.frame_count == 0:
        raise InputFileError(
            f"input_audio_offset: {settings.input_audio_offset:g} s is at or past the end of {path}, so there is "
            "no sound to drive the audio variables; choose a smaller input_audio_offset."
        )
    return frames


class AudioVariablesHook(FrameHook):
    """Serves the audio variables of each animation frame; before the first frame, those of frame 0.

    It keeps no state: the values of every frame come from the table, and those in force between frames
    travel in the run's ``variables`` part of backups.
    """

    name = "audio"
    stage = HookStage.VARIABLES

    def __init__(self, frames: AudioFrames) -> None:
        self.frames = frames

    def start_values(self) -> dict[str, float]:
        return self.frames.values_at(-1)

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        variables.set_frame_values(self.frames.values_at(start.frame))
