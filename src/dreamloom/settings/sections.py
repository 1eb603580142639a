"""The sections the settings are grouped in (docs/settings.md, the studio's form), from the schema's order.

A section is named by its first setting; every setting after it, up to the next section's first, belongs to
it. A setting added to the schema therefore lands in the section it is written in, with no list to update.
"""

from __future__ import annotations

from collections.abc import Iterable

from dreamloom.settings.schema import SETTING_NAMES

SECTION_STARTS: tuple[tuple[str, str], ...] = (
    ("Scenes and prompts", "scenes"),
    ("Image model", "width"),
    ("Animation and stabilization", "animation_mode"),
    ("Motion", "translate_x"),
    ("Audio", "input_audio"),
    ("Outputs", "file_namespace"),
    ("Perceptors and optimisation", "ViTB32"),
)
"""(title, first setting) in schema order."""


def settings_by_section(names: Iterable[str] = SETTING_NAMES) -> list[tuple[str, list[str]]]:
    """``names`` (in schema order) grouped as (section title, settings); settings before the first start
    belong to the first section."""
    starts = {first: title for title, first in SECTION_STARTS}
    groups: list[tuple[str, list[str]]] = [(SECTION_STARTS[0][0], [])]
    for name in names:
        if name in starts and starts[name] != groups[-1][0]:
            groups.append((starts[name], []))
        groups[-1][1].append(name)
    return [(title, members) for title, members in groups if members]
