"""Generate the settings reference (docs/settings.md) from the schema, so the docs cannot drift.

Run ``python -m dreamloom.settings.reference > docs/settings.md``; a test checks the file is current.
"""

from __future__ import annotations

import enum
import json
import sys
from typing import Literal, get_args, get_origin

from pydantic.fields import FieldInfo

from dreamloom.settings.names import KEY_ALIASES
from dreamloom.settings.schema import Settings
from dreamloom.settings.sections import settings_by_section

HEADER = """# Settings reference

Generated from dreamloom's schema (`python -m dreamloom.settings.reference > docs/settings.md`).
Every pytti-core setting is accepted with pytti's spelling and default; dreamloom's own additions are
`perceptors`, `precision`, `output_dir`, `backup_dir`, `video_format`, `video_crf`, `interpolation_mode` and
`input_audio_beat_half_life` (with the filters' `attack` and `release`).
Expression settings accept numbers or expression text (see docs/scene-language.md). Accepted misspellings: {aliases}.

Every number has a finite range, given in the "allowed" column: `.inf` and `.nan` are refused, and so are
sizes and counts beyond what can run (for instance `width` and `height` up to 8192, `cutouts` up to 4096,
step counts up to 1000000, and `width` or `height` × `pixel_size` up to 16384). `true` and `false` are
not numbers: `width: true` is refused, not read as 1. Each refusal names the setting and the limit.
"""

TABLE_HEAD = """| setting | default | allowed | meaning |
|---|---|---|---|
"""


def _default(info: FieldInfo) -> str:
    value = info.get_default(call_default_factory=True)
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "null"
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value!r}`"


def _allowed(info: FieldInfo) -> str:
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ", ".join(f"`{member.value}`" for member in annotation)
    bounds = []
    for item in info.metadata:
        for attribute, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            bound = getattr(item, attribute, None)
            if bound is not None:
                bounds.append(f"{symbol} {bound}")
    return " ".join([_type_name(annotation)] + bounds)


def _type_name(annotation: object) -> str:
    """A reader's name for a type: ``int or 'all'``, ``number or null``, ``list``."""
    if get_origin(annotation) is Literal:
        return " or ".join(repr(value) for value in get_args(annotation))
    arguments = get_args(annotation)
    if arguments and get_origin(annotation) is not list:
        return " or ".join(_type_name(argument) for argument in arguments)
    names = {int: "integer", float: "number", str: "text", bool: "true/false", type(None): "null"}
    return names.get(annotation, getattr(get_origin(annotation), "__name__", str(annotation)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_reference() -> str:
    """The whole reference page as Markdown: one table per section of :mod:`dreamloom.settings.sections`."""
    aliases = ", ".join(f"`{alias}` → `{key}`" for alias, key in KEY_ALIASES.items())
    fields = Settings.model_fields
    tables = [
        f"\n## {title}\n\n" + TABLE_HEAD + "".join(
            f"| `{name}` | {_default(fields[name])} | {_allowed(fields[name])} | {_cell(fields[name].description or '')} |\n"
            for name in names
        )
        for title, names in settings_by_section(fields)
    ]
    return HEADER.format(aliases=aliases) + "".join(tables)


if __name__ == "__main__":
    sys.stdout.write(render_reference())
