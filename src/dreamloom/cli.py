"""The ``dreamloom`` command: ``render``, ``preview``, ``audio``, ``settings``, ``video``, ``examples``, ``models`` and ``studio``.

Every failure ends here (:func:`report_failure`) as one message on stderr and a non-zero exit code, never a
traceback unless ``--debug`` asks for it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING


from dreamloom.version import __version__
from dreamloom.errors import DreamloomError, RenderInterrupted, SettingsError
from dreamloom.failures import user_error

if TYPE_CHECKING:
    from dreamloom.settings.choices import VideoFormat


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "items") and not any(item.startswith("-") for item in extra):
        args.items += extra  # settings given after an option, e.g. `render c.yaml --resume cutouts=8`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    _configure_logging(args.quiet)
    try:
        return args.handler(args)
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - the one boundary: every failure ends here
        return report_failure(error, debug=args.debug)


INTERNAL_ERROR_CODE = 70
"""Exit code of an internal error, a bug (``EX_SOFTWARE`` of sysexits.h), apart from the user errors' 1 and 2."""


def report_failure(error: BaseException, *, debug: bool) -> int:
    """The one boundary: ``error`` as one message on stderr (the traceback only with ``--debug``); returns
    the exit code."""
    if isinstance(error, BrokenPipeError):
        # The reader of our output went away (e.g. `| head`); that is not an error of ours.
        sys.stdout = open(os.devnull, "w")
        return 0
    if debug:
        traceback.print_exception(type(error), error, error.__traceback__)
    if isinstance(error, KeyboardInterrupt):
        print("dreamloom: interrupted", file=sys.stderr)
        return 130
    known = user_error(error)
    if known is None:
        lines = str(error).strip().splitlines()
        what = f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__
        print(f"dreamloom: internal error ({what}). This is a bug in dreamloom, not a problem with your settings "
              "or files; run the same command with --debug to see the traceback, and report it.", file=sys.stderr)
        return INTERNAL_ERROR_CODE
    label = "interrupted" if isinstance(known, RenderInterrupted) else "error"
    print(f"dreamloom: {label}: {known}", file=sys.stderr)
    return known.exit_code


def _configure_logging(quiet: bool) -> None:
    """dreamloom's own messages at INFO (WARNING with ``--quiet``); other libraries only warn, so open_clip's
    lines about building a model do not bury the progress of a render."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("dreamloom").setLevel(logging.WARNING if quiet else logging.INFO)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dreamloom", description="Steer images with CLIP perceptors (pytti-core compatible settings).")
    parser.add_argument("--version", action="version", version=f"dreamloom {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors (no progress bar or progress lines)")
    parser.add_argument("--debug", action="store_true", help="on a failure, print the Python traceback as well as the message")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="render the scenes of a config", description="Render a config. CONFIG is a YAML file; or use pytti's layout with conf=NAME (reads config/default.yaml and config/conf/NAME.yaml).")
    _add_settings_arguments(render)
    render.add_argument("--resume", action="store_true", help="continue the latest interrupted run of this config from its last backup")
    render.add_argument("--terminal-preview", choices=["auto", "on", "off"], default="auto", help="draw the picture in the terminal (24-bit colour) with each display_every line and at the end; auto: only when the output is a terminal")
    render.add_argument("--open", action="store_true", help="open the final picture with the system's picture viewer")
    render.set_defaults(handler=_render)

    preview = commands.add_parser("preview", help="show a 2D animation's motion alone as a short video, in seconds", description="Move the init image (or a test pattern) by the config's 2D motion, with no perceptor and no optimisation, and write it as a video, so the camera can be checked before a long render. Prints the video's path.")
    _add_settings_arguments(preview)
    preview.add_argument("--frames", type=int, metavar="N", help="frames to show (default: the render's frames, at most 10 s of video)")
    preview.add_argument("--output", metavar="PATH", help="where to write the video; the suffix may pick gif or webm (default: <output_dir>/<file_namespace>/<file_namespace>.preview.mp4)")
    preview.set_defaults(handler=_preview)

    audio = commands.add_parser("audio", help="plot and tabulate a config's audio variables, frame by frame", description="Analyse input_audio with the config's input_audio_filters as a render would and write every per-frame variable (each band, its _prev and _onset, and beat) with the waveform: a PNG plot and a CSV table beside it. Prints both paths.")
    _add_settings_arguments(audio)
    audio.add_argument("--output", metavar="PATH.png", help="where to write the plot; the CSV goes beside it (default: <output_dir>/<file_namespace>/<file_namespace>.audio.png)")
    audio.set_defaults(handler=_audio)

    settings = commands.add_parser("settings", help="print the fully resolved settings as YAML", description="Print every setting (defaults filled in, seed resolved) so a run can be reproduced.")
    _add_settings_arguments(settings)
    settings.set_defaults(handler=_settings)

    video = commands.add_parser("video", help="write a run's frames as a video (with its sound)", description="Encode RUN_FOLDER's frames (<base>_<n>.png, the newest run unless --base) as a video; fps and sound come from <base>_settings.yaml unless given here. Prints the video's path.")
    video.add_argument("folder", metavar="RUN_FOLDER", help="the folder holding the frames, e.g. images_out/demo")
    video.add_argument("--base", help="the run's base name, e.g. demo(1) (default: the run with the newest frame)")
    video.add_argument("--fps", type=float, help="frames per second (default: frames_per_second of the run, else 12)")
    video.add_argument("--crf", type=int, help="quality of mp4 and webm: 0 (lossless) to 51; lower is better (default: video_crf of the run, else 18)")
    video.add_argument("--format", choices=["mp4", "gif", "webm"], help="container (default: from --output's suffix, else mp4)")
    video.add_argument("--audio", metavar="FILE", help="sound for the video (default: input_audio of the run)")
    video.add_argument("--audio-offset", type=float, metavar="S", help="seconds into the audio where the video starts (default: input_audio_offset with the run's audio, else 0)")
    video.add_argument("--no-audio", action="store_true", help="leave the sound out")
    video.add_argument("--output", metavar="PATH", help="where to write the video (default: RUN_FOLDER/<base>.<format>)")
    video.set_defaults(handler=_video)

    examples = commands.add_parser("examples", help="list the bundled example configs", description="List the configs bundled with dreamloom, one per line with what it shows; render one with dreamloom render --example NAME.")
    examples.set_defaults(handler=_examples)

    studio = commands.add_parser("studio", help="a local web page to write scenes, watch renders and browse results", description="Serve dreamloom studio on this machine (needs the studio extra: pip install 'dreamloom[studio]'). CONFIG prefills the form; its output_dir is the folder the studio shows.")
    studio.add_argument("config", nargs="?", metavar="CONFIG", help="a YAML config to start from")
    studio.add_argument("--port", type=int, default=7860, help="port to listen on (default: 7860)")
    studio.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    studio.add_argument("--output", metavar="DIR", help="the output folder the studio renders into and shows (default: output_dir of CONFIG, else images_out)")
    studio.add_argument("--workspace", metavar="DIR", help="where uploads and the configs of renders are kept (default: studio_workspace)")
    studio.set_defaults(handler=_studio)

    from dreamloom.models.commands import add_models_parser

    add_models_parser(commands)
    for command in commands.choices.values():
        _accept_anywhere(command)
    return parser


def _accept_anywhere(parser: argparse.ArgumentParser) -> None:
    """Let ``-q`` and ``--debug`` stand after a subcommand too (``dreamloom render c.yaml -q``), in every
    nested subcommand.

    The default is SUPPRESS, so a subcommand without them keeps the value the main parser set.
    """
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="only print warnings, errors and the final path")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on a failure, print the Python traceback as well as the message")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _accept_anywhere(nested)


def _add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("items", nargs="*", metavar="CONFIG | key=value", help="a YAML config file, then key=value overrides (conf=NAME for pytti's config folder)")
    parser.add_argument("--example", metavar="NAME", help="use a config bundled with dreamloom (e.g. demo) instead of a file")


def _split_items(items: Sequence[str]) -> tuple[str | None, list[str]]:
    """The item without '=' is the config file; every other item is an override (Hydra's ``~key`` has no '=')."""
    files = [item for item in items if "=" not in item and not item.startswith("~")]
    if len(files) > 1:
        raise SettingsError(f"Only one config file can be given, got {', '.join(files)}; put other values as key=value.")
    return (files[0] if files else None), [item for item in items if item not in files]


def _load(args: argparse.Namespace):
    from dreamloom.examples import example_overrides, example_path
    from dreamloom.settings.loading import load_settings

    config, overrides = _split_items(args.items)
    if args.example is not None:
        if config is not None:
            raise SettingsError(f"Give either a config file ({config}) or --example, not both.")
        config = str(example_path(args.example))
        overrides = example_overrides(args.example) + overrides
    return load_settings(config, overrides)


def _examples(args: argparse.Namespace) -> int:
    """One line per bundled example: its name and its summary, so a newcomer can pick one without opening files."""
    from dreamloom.examples import example_names, example_summary

    names = example_names()
    width = max(len(name) for name in names)
    for name in names:
        print(f"{name:{width}}  {example_summary(name)}")
    return 0


def _settings(args: argparse.Namespace) -> int:
    """Print the resolved settings; warn (without failing) when ``render`` would refuse them."""
    from dreamloom.plan import build_plan
    from dreamloom.render import check_supported
    from dreamloom.settings.dump import settings_to_yaml

    settings = _load(args)
    build_plan(settings)
    try:
        check_supported(settings)
    except DreamloomError as error:
        logging.getLogger("dreamloom").warning("render would refuse these settings: %s", error)
    sys.stdout.write(settings_to_yaml(settings))
    return 0


def _render(args: argparse.Namespace) -> int:
    """Render, then say what was written and what to do next; with ``-q`` only the final picture's path.

    ``--open`` hands the final picture to the system viewer.
    """
    import time

    from dreamloom.render import render

    _require_config(args, "render")
    show = _shows_terminal_preview(args.terminal_preview, args.quiet)
    started = time.monotonic()
    result = render(_load(args), resume=args.resume, progress=not args.quiet, terminal_preview=show)
    if show:
        from PIL import Image

        from dreamloom.output.terminal_picture import half_block_lines, preview_columns

        with Image.open(result.final_picture) as picture:
            print("\n".join(half_block_lines(picture, preview_columns(sys.stdout))))
    for line in result.summary(time.monotonic() - started):
        logging.getLogger("dreamloom").info("%s", line)
    print(result.final_picture)
    if args.open:
        from dreamloom.output.terminal_picture import open_in_viewer

        open_in_viewer(result.final_picture)
    return 0


def _shows_terminal_preview(choice: str, quiet: bool) -> bool:
    """``--terminal-preview``: ``on`` and ``off`` decide; ``auto`` shows it when stdout is a terminal.
    ``-q`` wins: it promises only the final path."""
    from dreamloom.output.terminal_picture import is_terminal

    if quiet or choice == "off":
        return False
    return choice == "on" or is_terminal(sys.stdout)


def _require_config(args: argparse.Namespace, command: str) -> None:
    """A bare ``render``/``preview`` is a request for usage, not a render of the defaults (which has no scene)."""
    if not args.items and args.example is None:
        raise SettingsError(
            f"dreamloom {command} needs a config: dreamloom {command} CONFIG.yaml [key=value ...], "
            f"dreamloom {command} conf=NAME (pytti's config folder), or dreamloom {command} --example demo."
        )


def _preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dreamloom.preview import preview

    _require_config(args, "preview")
    fmt = _video_format(None, args.output)
    print(preview(_load(args), frames=args.frames, output=Path(args.output) if args.output else None, fmt=fmt))
    return 0


def _audio(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dreamloom.audio_report import audio_report

    plot, table = audio_report(_load(args), Path(args.output) if args.output else None)
    print(plot)
    print(table)
    return 0


def _video(args: argparse.Namespace) -> int:
    """Command-line values win; the run's settings file fills the rest (its offset only with its own audio)."""
    from pathlib import Path

    from dreamloom.output.run_frames import find_run_frames
    from dreamloom.output.video import export_video

    _check_video_options(args)
    fmt = _video_format(args.format, args.output)
    run = find_run_frames(Path(args.folder), args.base)
    audio, offset = (Path(args.audio), 0.0) if args.audio else (run.audio, run.audio_offset)
    if args.no_audio:
        audio = None
    elif audio is not None and args.audio is None and not audio.is_file():
        raise SettingsError(f"The run's input_audio {audio} is not here (paths are relative to where the render ran); give --audio FILE or --no-audio.")
    output = Path(args.output) if args.output else run.folder / f"{run.base_name}.{fmt.value}"
    offset = offset if args.audio_offset is None else args.audio_offset
    print(export_video(run.frames, output, fps=args.fps or run.fps, crf=run.crf if args.crf is None else args.crf, fmt=fmt, audio=audio, audio_offset=offset))
    return 0


def _studio(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dreamloom.studio.server import serve

    serve(Path(args.config) if args.config else None, host=args.host, port=args.port,
          output=Path(args.output) if args.output else None, workspace=Path(args.workspace) if args.workspace else None)
    return 0


def _check_video_options(args: argparse.Namespace) -> None:
    """The numbers a video needs; argparse checks only that they parse."""
    import math

    if args.fps is not None and not (args.fps > 0 and math.isfinite(args.fps)):
        raise SettingsError(f"--fps must be a number greater than 0, got {args.fps:g}.")
    if args.crf is not None and not 0 <= args.crf <= 51:
        raise SettingsError(f"--crf must be between 0 and 51, got {args.crf}.")
    if args.audio_offset is not None and not (args.audio_offset >= 0 and math.isfinite(args.audio_offset)):
        raise SettingsError(f"--audio-offset must be 0 or more seconds, got {args.audio_offset:g}.")


def _video_format(name: str | None, output: str | None) -> VideoFormat:
    """``--format``, else the format ``--output``'s suffix names, else mp4; the two must not disagree."""
    from dreamloom.settings.choices import VideoFormat

    suffix = os.path.splitext(output or "")[1].lstrip(".").lower()
    implied = suffix if suffix in ("mp4", "gif", "webm") else None
    if name and implied and name != implied:
        raise SettingsError(f"--format {name} does not match --output {output}; make the suffix .{name} or drop --format.")
    return VideoFormat(name or implied or "mp4")


if __name__ == "__main__":
    sys.exit(main())
