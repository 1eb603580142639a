"""Run names inside an output folder: ``<namespace>`` for the first run, ``<namespace>(k)`` after (pytti §7.2)."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path


def run_index(name: str, namespace: str) -> int | None:
    """The run index a file of ``namespace`` belongs to (0 for the bare name), or None if it is not one."""
    match = re.fullmatch(re.escape(namespace) + r"(?:\((\d+)\))?_.*", name)
    if match is None:
        return None
    return int(match.group(1)) if match.group(1) else 0


def base_name(namespace: str, index: int) -> str:
    return namespace if index == 0 else f"{namespace}({index})"


def next_base_name(folder: Path, namespace: str, allow_overwrite: bool, busy: Collection[str] = ()) -> str:
    """The name for a new run: the namespace itself when overwriting, else the first run index that has no
    files and is not in ``busy`` (names other processes have claimed, see :mod:`dreamloom.output.claims`)."""
    if allow_overwrite:
        return namespace
    used = {index for path in folder.iterdir() if (index := run_index(path.name, namespace)) is not None} if folder.is_dir() else set()
    index = 0
    while index in used or base_name(namespace, index) in busy:
        index += 1
    return base_name(namespace, index)
