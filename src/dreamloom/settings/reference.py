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

HEADER = """# Settings reference

Generated from dreamloom's schema (`python -m dreamloom.settings.reference > docs/settings.md`).
Every pytti-core setting is accepted with pytti's spelling and default; dreamloom's own additions are
`perceptors`, `precision`, `output_dir`, `backup_dir`, `video_format`, `video_crf`, `interpolation_mode` and
`input_audio_beat_half_life` (with the filters' `attack` and `release`).
Expression settings accept numbers or expression text (see docs/scene-language.md). Accepted misspellings: {aliases}.

| setting | default | allowed | meaning |
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
    """The whole reference page as Markdown."""
    aliases = ", ".join(f"`{alias}` → `{key}`" for alias, key in KEY_ALIASES.items())
    rows = [
        f"| `{name}` | {_default(info)} | {_allowed(info)} | {_cell(info.description or '')} |"
        for name, info in Settings.model_fields.items()
    ]
    return HEADER.format(aliases=aliases) + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_reference())
