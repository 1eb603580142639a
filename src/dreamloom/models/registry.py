"""Every model dreamloom can download, for every family: what it is, where its files come from, its licence.

"Which architecture" lives with each model family (e.g. :mod:`dreamloom.images.vqgan.registry`); this
registry only answers "which bytes". The table is gathered from one data module per family on first use,
never at import.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable

from dreamloom.errors import WeightsError
from dreamloom.models.depth_files import depth_entries
from dreamloom.models.entries import Family, ModelEntry
from dreamloom.models.flow_files import flow_entries
from dreamloom.models.perceptor_files import perceptor_entries
from dreamloom.models.vqgan_files import vqgan_entries

_FAMILIES: tuple[Callable[[], tuple[ModelEntry, ...]], ...] = (vqgan_entries, perceptor_entries, depth_entries, flow_entries)


@functools.cache
def _table() -> tuple[dict[str, ModelEntry], dict[str, ModelEntry]]:
    """(entries by name, entries by alias), refusing any name or alias used twice."""
    names: dict[str, ModelEntry] = {}
    aliases: dict[str, ModelEntry] = {}
    for family in _FAMILIES:
        for entry in family():
            for key, table in ((entry.name, names), *((alias, aliases) for alias in entry.aliases)):
                if key in names or key in aliases:
                    raise RuntimeError(f"weights registry: {key!r} is registered twice")
                table[key] = entry
    return names, aliases


def list_entries(family: Family | None = None) -> list[ModelEntry]:
    """All registered entries (or those of one ``family``), in registration order."""
    return [entry for entry in _table()[0].values() if family is None or entry.family is family]


def get_entry(name: str) -> ModelEntry:
    """The entry called ``name`` or one of its aliases; a :class:`WeightsError` naming close names otherwise."""
    names, aliases = _table()
    entry = names.get(name) or aliases.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, [*names, *aliases], n=4)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise WeightsError(f"unknown model {name!r}.{hint} `dreamloom models list` shows every registered model.")
    return entry
