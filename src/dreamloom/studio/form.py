"""The studio's settings form, derived from the schema: one field per setting, in the sections of the docs.

Nothing here knows of web pages: a form is a list of :class:`FormField` and its values a mapping
``setting -> value as the page holds it``. The page builds one widget per field; a setting added to the
schema appears without touching the studio. Values go to YAML and back without loss.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from dreamloom.settings.names import KEY_ALIASES
from dreamloom.settings.schema import Settings
from dreamloom.settings.sections import settings_by_section


class FieldKind(enum.Enum):
    """Which widget shows a setting: the page maps each kind to one widget type."""

    CHECK = "check"  # true/false
    CHOICE = "choice"  # one of the enum's values
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"  # text, paths, expressions
    YAML = "yaml"  # lists, mappings and unions, written as YAML (``[demo]``, ``all``, ``null``)


@dataclass(frozen=True)
class FormField:
    """One setting as the form shows it."""

    name: str
    section: str
    kind: FieldKind
    help: str
    default: Any  # in the form's terms (see :func:`to_form`)
    choices: tuple[str, ...] = ()


def form_fields(model: type[BaseModel] = Settings) -> list[FormField]:
    """A field for every setting of ``model``, grouped in sections, in schema order."""
    fields = model.model_fields
    defaults = model.model_construct().model_dump(mode="json")
    made = []
    for section, names in settings_by_section(fields):
        for name in names:
            kind, choices = _kind(fields[name].annotation)
            made.append(FormField(name, section, kind, fields[name].description or "",
                                  _to_widget(kind, defaults[name]), choices))
    return made


def _kind(annotation: Any) -> tuple[FieldKind, tuple[str, ...]]:
    if annotation is bool:
        return FieldKind.CHECK, ()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return FieldKind.CHOICE, tuple(member.value for member in annotation)
    simple = {int: FieldKind.INTEGER, float: FieldKind.NUMBER, str: FieldKind.TEXT}
    return simple.get(annotation, FieldKind.YAML), ()


def to_form(fields: list[FormField], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for ``settings`` (JSON-like values, as ``Settings.model_dump(mode="json")`` gives);
    settings it does not name keep their defaults."""
    return {field.name: _to_widget(field.kind, settings[field.name]) if field.name in settings else field.default
            for field in fields}


def _to_widget(kind: FieldKind, value: Any) -> Any:
    if kind is FieldKind.YAML:
        return yaml_text(value)
    if kind is FieldKind.TEXT and value is None:
        return ""
    return value


def yaml_text(value: Any) -> str:
    """One line of YAML flow style for a list, mapping, number or word (``[demo]``, ``all``, ``null``)."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def from_form(fields: list[FormField], values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings as a mapping for the loader, and a problem per field whose text is not YAML."""
    settings: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        value = values.get(field.name, field.default)
        if field.kind is FieldKind.YAML:
            try:
                value = yaml.safe_load(value) if isinstance(value, str) and value.strip() else None
            except yaml.YAMLError as error:
                problems[field.name] = f"{field.name}: not valid YAML ({getattr(error, 'problem', None) or error}); write e.g. [demo] for a list."
                continue
        elif field.kind is FieldKind.INTEGER and isinstance(value, float) and value.is_integer():
            value = int(value)
        settings[field.name] = value
    return settings, problems


def form_yaml(fields: list[FormField], values: Mapping[str, Any]) -> str:
    """The form as a YAML config file (every setting, schema order); fields with YAML problems are left out."""
    settings, _ = from_form(fields, values)
    return yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=1000)


_LEADING_NAME = re.compile(r"\s*-?\s*([A-Za-z_][A-Za-z0-9_]*)")


def problems_by_setting(message: str, names: set[str]) -> dict[str, list[str]]:
    """A dreamloom error message split into the lines each setting concerns; lines that name no setting of
    ``names`` go under ``""``. The words stay those the command line prints."""
    lines = message.splitlines()
    items = [message]
    if lines and lines[0].startswith("Invalid settings (") and len(lines) > 1:
        items = []
        for line in lines[1:]:
            if line.startswith("  - ") or not items:
                items.append(line.removeprefix("  - "))
            else:
                items[-1] += "\n" + line
    grouped: dict[str, list[str]] = {}
    for item in items:
        match = _LEADING_NAME.match(item)
        name = KEY_ALIASES.get(match.group(1), match.group(1)) if match else ""
        grouped.setdefault(name if name in names else "", []).append(item)
    return grouped
