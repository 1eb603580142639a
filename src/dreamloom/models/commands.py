"""``dreamloom models list | download NAME | verify [NAME] | path NAME``: the weights cache from the shell.

:func:`add_models_parser` adds the ``models`` command to the CLI's subparsers; each action stores its
handler as ``args.handler`` (``handler(args) -> exit code``, the CLI's dispatch convention). NAME is an
entry name or alias from ``models list`` (``imagenet``, ``ViTB32``, ``ViT-B-32/laion2b_s34b_b79k``).
Problems are raised as :class:`WeightsError` for the CLI to print.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dreamloom.models.cache import file_path, installed_file, models_dir
from dreamloom.models.entries import Family, WeightsFile
from dreamloom.models.install import ensure_entry
from dreamloom.models.registry import get_entry, list_entries
from dreamloom.models.verify import file_mismatch, sha256_of

_FAMILIES = {family.label: family for family in Family}


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
    listing = actions.add_parser("list", parents=[common], help="every registered model and whether it is installed")
    listing.add_argument("--family", choices=list(_FAMILIES), default=None, help="only this family's models")
    download = actions.add_parser("download", parents=[common], help="download a model into the cache")
    download.add_argument("name", help="a name from `models list`, a vqgan_model (imagenet) or a pytti flag (ViTB32)")
    verify = actions.add_parser("verify", parents=[common], help="check installed models (all, or NAME)")
    verify.add_argument("name", nargs="?", default=None)
    path = actions.add_parser("path", parents=[common], help="print where a model's file is (or must be placed)")
    path.add_argument("name")
    for action, handler in (("list", _list), ("download", _download), ("verify", _verify), ("path", _path)):
        actions.choices[action].set_defaults(handler=handler)


def _size(file: WeightsFile) -> str:
    if file.size is None:
        return "size unknown"
    return f"{file.size / 1e6:,.1f} MB" if file.size >= 1_000_000 else f"{file.size:,} B"


def _list(args: argparse.Namespace) -> int:
    entries = list_entries(_FAMILIES[args.family] if args.family else None)
    width = max(len(entry.name) for entry in entries)
    print(f"models folder: {models_dir(args.models_parent_dir)}")
    for entry in entries:
        installed = installed_file(entry, args.models_parent_dir)
        state = "installed" if installed else "missing"
        size = _size(installed[0] if installed else entry.files[0])
        aliases = f" (also {', '.join(entry.aliases)})" if entry.aliases else ""
        print(
            f"{entry.name:{width}}  {entry.family.label:9}  {size:>14}  {state:9}  "
            f"{entry.description}{aliases}  [{entry.licence}]"
        )
    return 0


def _download(args: argparse.Namespace) -> int:
    print(ensure_entry(get_entry(args.name), args.models_parent_dir))
    return 0


def _path(args: argparse.Namespace) -> int:
    entry = get_entry(args.name)
    installed = installed_file(entry, args.models_parent_dir)
    print(installed[1] if installed else file_path(entry.files[0], args.models_parent_dir))
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Check NAME (exit 1 if missing or corrupt), or every installed entry (exit 1 if one is corrupt)."""
    entries = [get_entry(args.name)] if args.name else list_entries()
    failed = False
    missing = 0
    for entry in entries:
        installed = installed_file(entry, args.models_parent_dir)
        folder = _folder_in_place(entry.files, args.models_parent_dir)
        if installed is None and folder is None:
            missing += 1
            continue
        status = _check(*installed) if installed else (
            f"CORRUPT, {folder} is a folder, not a file; delete it and run `dreamloom models download {entry.name}`"
        )
        failed = failed or status.startswith("CORRUPT")
        print(f"{entry.name}: {status}")
    if args.name and missing:
        print(f"{args.name}: not installed ({file_path(entries[0].files[0], args.models_parent_dir)})")
        return 1
    if not args.name:
        print(f"{missing} registered models are not installed (`dreamloom models list` shows them)")
    return 1 if failed else 0


def _folder_in_place(files: tuple[WeightsFile, ...], models_parent_dir: str | None) -> Path | None:
    """A folder standing where one of ``files`` belongs (no download could be put there), else None."""
    return next((path for file in files if (path := file_path(file, models_parent_dir)).is_dir()), None)


def _check(file: WeightsFile, path: Path) -> str:
    """One line on whether the file at ``path`` is ``file``; its sha256 is always shown."""
    sha256 = sha256_of(path)
    problem = file_mismatch(file, path, sha256)
    if problem is not None:
        return f"CORRUPT, {problem} ({path})"
    if file.sha256:
        how = "sha256 matches"
    else:
        how = "size matches; no published sha256" if file.size is not None else "no published size or sha256"
    return f"ok, {how} (sha256 {sha256})"
