"""Every file dreamloom can download: where it comes from, how to check it, where it goes, its licence.

"Which architecture" lives with each model family (e.g. :mod:`dreamloom.images.vqgan.registry`); this
registry only answers "which bytes". Entries are gathered lazily from one data module per family.
``sha256`` is None where no trusted hash is known: such files are checked by size only, never against an
invented hash.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable

from dreamloom.errors import WeightsError


class WeightsKind(enum.Enum):
    """What a registered file is, so commands can group and describe them."""

    VQGAN_CONFIG = "vqgan config"
    VQGAN_CHECKPOINT = "vqgan checkpoint"


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """One downloadable file.

    ``filename`` is relative to the cache folder (``models_parent_dir``); ``urls`` are tried in order
    (preferred host first, then mirrors).
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    kind: WeightsKind
    licence: str
    size: int | None = None
    sha256: str | None = None
    description: str = ""


def _families() -> tuple[Callable[[], tuple[WeightsFile, ...]], ...]:
    from dreamloom.models.vqgan_files import vqgan_files

    return (vqgan_files,)


@functools.cache
def _table() -> dict[str, WeightsFile]:
    table: dict[str, WeightsFile] = {}
    for family in _families():
        for entry in family():
            if entry.name in table:
                raise RuntimeError(f"weights registry: {entry.name!r} is registered twice")
            table[entry.name] = entry
    return table


def list_files() -> list[WeightsFile]:
    """All registered files, in registration order."""
    return list(_table().values())


def get_file(name: str) -> WeightsFile:
    """The entry called ``name``; a :class:`WeightsError` listing the known names otherwise."""
    entry = _table().get(name)
    if entry is None:
        known = ", ".join(_table())
        raise WeightsError(f"unknown model file {name!r}; known files: {known} (see `dreamloom models list`)")
    return entry
