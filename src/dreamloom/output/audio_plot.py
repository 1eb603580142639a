"""What ``dreamloom audio`` writes: every per-frame audio variable as a CSV table and as a PNG plot.

Both show the frames an animation would see, so filters can be tuned before a long render.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dreamloom.audio.analysis import AudioFrames
from dreamloom.output.files import write_atomically
from dreamloom.plan.variables import BEAT


def write_audio_csv(frames: AudioFrames, path: Path) -> None:
    """One row per frame: ``frame`` (from 1, as the loss log counts), ``t`` in seconds from the offset,
    ``waveform`` (the frame's peak, full scale 1), then every variable in :attr:`AudioFrames.names` order."""

    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["frame", "t", "waveform", *frames.names])
            for index, row in enumerate(frames.table()):
                values = (frames.waveform[index], *row)
                writer.writerow([index + 1, f"{index / frames.fps:.6g}", *(f"{value:.6g}" for value in values)])

    write_atomically(path, write)


def write_audio_plot(frames: AudioFrames, path: Path, title: str) -> None:
    """The waveform on top, then one panel per band (level, ``_prev``, ``_onset``), then ``beat``; x is seconds."""
    from matplotlib.figure import Figure

    seconds = np.arange(frames.frame_count) / frames.fps
    panels = len(frames.bands) + 2
    figure = Figure(figsize=(12, 1.8 * panels))
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    axes[0].fill_between(seconds, -frames.waveform, frames.waveform, step="post", color="0.4", linewidth=0)
    axes[0].set_ylabel("waveform")
    axes[0].set_title(title)
    for column, (axis, name) in enumerate(zip(axes[1:], frames.bands)):
        levels = frames.levels[:, column]
        axis.step(seconds, levels, where="post", label=name)
        axis.step(seconds, np.concatenate([levels[:1], levels[:-1]]), where="post", linestyle=":", label=f"{name}_prev")
        axis.step(seconds, frames.onsets[:, column], where="post", alpha=0.6, label=f"{name}_onset")
        axis.set_ylim(-0.05, 1.05)
        axis.legend(loc="upper right", fontsize="small")
    axes[-1].step(seconds, frames.beat, where="post", color="tab:red", label=BEAT)
    axes[-1].set_ylim(-0.05, 1.05)
    axes[-1].legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("seconds from input_audio_offset (frame k starts at k / frames_per_second)")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png"))
