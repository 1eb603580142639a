"""The ``dreamloom`` command: ``render``, ``settings`` and ``models``.

Every user error ends here as one message on stderr and the error's exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence


from dreamloom import __version__
from dreamloom.errors import DreamloomError, SettingsError


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
    except DreamloomError as error:
        print(f"dreamloom: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("dreamloom: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`); that is not an error of ours.
        sys.stdout = open(os.devnull, "w")
        return 0


def _configure_logging(quiet: bool) -> None:
    """dreamloom's own messages at INFO (WARNING with ``--quiet``); other libraries only warn, so open_clip's
    lines about building a model do not bury the progress of a render."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("dreamloom").setLevel(logging.WARNING if quiet else logging.INFO)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dreamloom", description="Steer images with CLIP perceptors (pytti-core compatible settings).")
    parser.add_argument("--version", action="version", version=f"dreamloom {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print warnings and errors (no progress bar or progress lines)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="render the scenes of a config", description="Render a config. CONFIG is a YAML file; or use pytti's layout with conf=NAME (reads config/default.yaml and config/conf/NAME.yaml).")
    _add_settings_arguments(render)
    render.add_argument("--resume", action="store_true", help="continue the latest interrupted run of this config from its last backup")
    render.set_defaults(handler=_render)

    settings = commands.add_parser("settings", help="print the fully resolved settings as YAML", description="Print every setting (defaults filled in, seed resolved) so a run can be reproduced.")
    _add_settings_arguments(settings)
    settings.set_defaults(handler=_settings)

    from dreamloom.models.commands import add_models_parser

    add_models_parser(commands)
    return parser


def _add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("items", nargs="*", metavar="CONFIG | key=value", help="a YAML config file, then key=value overrides (conf=NAME for pytti's config folder)")
    parser.add_argument("--example", metavar="NAME", help="use a config bundled with dreamloom (e.g. demo) instead of a file")


def _split_items(items: Sequence[str]) -> tuple[str | None, list[str]]:
    """The first item without '=' is the config file; every other item is an override."""
    files = [item for item in items if "=" not in item]
    if len(files) > 1:
        raise SettingsError(f"Only one config file can be given, got {', '.join(files)}; put other values as key=value.")
    return (files[0] if files else None), [item for item in items if "=" in item]


def _load(args: argparse.Namespace):
    from dreamloom.examples import example_path
    from dreamloom.settings.loading import load_settings

    config, overrides = _split_items(args.items)
    if args.example is not None:
        if config is not None:
            raise SettingsError(f"Give either a config file ({config}) or --example, not both.")
        config = str(example_path(args.example))
    return load_settings(config, overrides)


def _settings(args: argparse.Namespace) -> int:
    from dreamloom.plan import build_plan
    from dreamloom.settings.dump import settings_to_yaml

    settings = _load(args)
    build_plan(settings)
    sys.stdout.write(settings_to_yaml(settings))
    return 0


def _render(args: argparse.Namespace) -> int:
    from dreamloom.engine.render import render

    render(_load(args), resume=args.resume, progress=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
