"""``dreamloom models list | download NAME | verify [NAME] | path NAME``: the weights cache from the shell.

:func:`add_models_parser` adds the ``models`` command to the CLI's subparsers; each action stores its
handler as ``args.handler`` (``handler(args) -> exit code``, the CLI's dispatch convention). Problems are
raised as :class:`WeightsError` for the CLI to print.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dreamloom.errors import SettingsError, WeightsError
from dreamloom.models.cache import file_path, models_dir
from dreamloom.models.fetch import ensure_file
from dreamloom.models.registry import WeightsFile, get_file, list_files
from dreamloom.models.verify import mismatch, sha256_of


def add_models_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``models`` and its four actions on the CLI's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--models-parent-dir",
        dest="models_parent_dir",
        default=None,
        help="cache folder for model files (pytti's models_parent_dir; default ~/.cache/dreamloom)",
    )
    parser = subparsers.add_parser("models", help="list, download and verify model weights")
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION", required=True)
    actions.add_parser("list", parents=[common], help="every registered file and whether it is installed")
    download = actions.add_parser("download", parents=[common], help="download a file into the cache")
    download.add_argument("name", help="a file name from `models list`, or a VQGAN model such as imagenet")
    verify = actions.add_parser("verify", parents=[common], help="check installed files (all, or NAME)")
    verify.add_argument("name", nargs="?", default=None)
    path = actions.add_parser("path", parents=[common], help="print where a file is (or must be placed)")
    path.add_argument("name")
    for action, handler in (("list", _list), ("download", _download), ("verify", _verify), ("path", _path)):
        actions.choices[action].set_defaults(handler=handler)


def resolve(name: str) -> WeightsFile:
    """A registry entry by file name, or the checkpoint of a VQGAN model name or alias (``sflickr``)."""
    try:
        return get_file(name)
    except WeightsError as unknown:
        from dreamloom.images.vqgan.registry import get_spec

        try:
            weights = get_spec(name).weights
        except SettingsError:
            raise unknown from None
        if weights is None:
            raise unknown from None
        return get_file(weights)


def _size(entry: WeightsFile) -> str:
    if entry.size is None:
        return "size unknown"
    return f"{entry.size / 1e6:,.1f} MB" if entry.size >= 1_000_000 else f"{entry.size:,} B"


def _list(args: argparse.Namespace) -> int:
    print(f"models folder: {models_dir(args.models_parent_dir)}")
    for entry in list_files():
        installed = "installed" if file_path(entry, args.models_parent_dir).exists() else "missing"
        print(f"{entry.name:28} {_size(entry):>14}  {installed:9}  {entry.description}  [{entry.licence}]")
    return 0


def _download(args: argparse.Namespace) -> int:
    print(ensure_file(resolve(args.name), args.models_parent_dir))
    return 0


def _path(args: argparse.Namespace) -> int:
    print(file_path(resolve(args.name), args.models_parent_dir))
    return 0


def _verify(args: argparse.Namespace) -> int:
    entries = [resolve(args.name)] if args.name else list_files()
    failed = False
    for entry in entries:
        path = file_path(entry, args.models_parent_dir)
        if not path.exists():
            print(f"{entry.name}: not installed ({path})")
            failed = failed or args.name is not None
            continue
        status = _check(entry, path)
        failed = failed or status.startswith("CORRUPT")
        print(f"{entry.name}: {status}")
    return 1 if failed else 0


def _check(entry: WeightsFile, path: Path) -> str:
    """One line on whether the file at ``path`` is ``entry``; its sha256 is always shown."""
    sha256 = sha256_of(path)
    problem = mismatch(entry, path.stat().st_size, sha256)
    if problem is not None:
        return f"CORRUPT, {problem} ({path})"
    how = "sha256 matches" if entry.sha256 else "size matches; no published sha256"
    return f"ok, {how} (sha256 {sha256})"
