"""``dreamloom audio CONFIG``: a config's audio variables, frame by frame, as a plot and a table, in seconds.

Tuning filters by rendering is slow; this reads ``input_audio`` with the render's own analysis (the same
frames, the same values) and writes what every expression would read at every frame.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dreamloom.engine.audio_variables import analyse_settings
from dreamloom.errors import SettingsError
from dreamloom.output.audio_plot import write_audio_csv, write_audio_plot
from dreamloom.output.files import ensure_writable_folder
from dreamloom.plan.compiled import check_audio_filters
from dreamloom.settings.schema import Settings

log = logging.getLogger("dreamloom")


def audio_report(settings: Settings, output: Path | None = None) -> tuple[Path, Path]:
    """Write the PNG plot and the CSV table of the audio variables; returns their paths.

    ``output`` is the PNG's path (the CSV goes beside it with the suffix ``.csv``); by default
    ``<output_dir>/<file_namespace>/<file_namespace>.audio.png``, with a dot so run numbering ignores it.
    Only the audio settings are checked, so filters can be tuned before the scenes are written.
    """
    check_audio_filters(settings)
    if output is not None and output.suffix.lower() != ".png":
        raise SettingsError(f"--output {output}: the plot is a PNG, so the path must end in .png (the CSV goes beside it).")
    if not settings.input_audio_filters:
        raise SettingsError(
            "input_audio_filters: the config has no audio filters, so there are no audio variables to show; add "
            "filters (variable_name, f_center, f_width) and input_audio."
        )
    frames = analyse_settings(settings)
    namespace = settings.file_namespace
    plot = output or Path(settings.output_dir) / namespace / f"{namespace}.audio.png"
    table = plot.with_suffix(".csv")
    ensure_writable_folder(plot.parent, "--output" if output else "output_dir")
    write_audio_csv(frames, table)
    write_audio_plot(frames, plot, f"{settings.input_audio} from {settings.input_audio_offset:g} s, "
                                   f"{settings.frames_per_second:g} frames per second")
    log.info("Audio variables of %d frames (%.1f s): %s and %s.", frames.frame_count,
             frames.frame_count / frames.fps, plot, table)
    return plot, table
