"""Command-line overrides read with Hydra's override grammar, as pytti reads them.

``key=value``, ``+key=value``, ``++key=value``, ``~key`` and ``conf=NAME`` mean what they mean to Hydra, with
two leniencies so that what a pytti user types never fails where it could only mean one thing: an override
of a text or expression setting that the grammar cannot read, or reads as a sweep (``translate_y=sin(t)``,
``scenes=a photo, a cat``), is taken as its literal text; ``+key`` of a dreamloom setting sets it even
though dreamloom's defaults already hold the key (pytti's ``+`` adds keys its default.yaml lacks).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException

from dreamloom.settings.names import KEY_ALIASES, TEXT_SETTINGS, did_you_mean
from dreamloom.settings.schema import SETTING_NAMES

COMMAND_LINE = "the command line"
#: pytti's config group: ``conf=NAME`` selects ``config/conf/NAME.yaml``.
CONF_GROUP = "conf"
_RESERVED = frozenset({CONF_GROUP, "hydra"})


@dataclass
class Overrides:
    """Overrides ready for Hydra's compose, the settings they set, and the problems found in them."""

    lines: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    conf: str | None = None
    problems: list[str] = field(default_factory=list)


def read_overrides(items: Sequence[str], groups: Collection[str] = ()) -> Overrides:
    """Parse every override; ``groups`` are the config groups (folders) a defaults list may name."""
    parser = OverridesParser.create()
    result = Overrides()
    for item in items:
        _read_one(parser, item, set(groups) | _RESERVED, result)
    return result


def _read_one(parser: OverridesParser, item: str, groups: set[str], result: Overrides) -> None:
    prefix, key, sep, raw = _split(item)
    if not key or (not sep and prefix != "~"):
        result.problems.append(f"Override {item!r} on {COMMAND_LINE} must look like key=value (e.g. cutouts=32).")
        return
    top = key.split(".")[0].split("@")[0]
    if top not in SETTING_NAMES and top not in KEY_ALIASES and top not in groups:
        result.problems.append(f"{top} (in {COMMAND_LINE}): unknown setting.{did_you_mean(top)}")
        return
    canonical = KEY_ALIASES.get(top, top)
    line = prefix + canonical + key[len(top):] + sep + raw
    parsed = _parse(parser, line)
    if isinstance(parsed, str) or parsed.is_sweep_override():
        if canonical not in TEXT_SETTINGS:
            why = parsed if isinstance(parsed, str) else "a list of values (a sweep) is not one value"
            result.problems.append(
                f"Override {item!r} on {COMMAND_LINE}: {why}. Use Hydra's syntax: a list as key=[a,b], "
                "text with special characters in quotes, e.g. key='a, b'.")
            return
        line = prefix + canonical + "=" + _quoted(raw.strip())
        parsed = _parse(parser, line)
        if isinstance(parsed, str) or parsed.value() != raw.strip():
            result.problems.append(f"Override {item!r} on {COMMAND_LINE} cannot be read; put the value in quotes.")
            return
    if parsed.is_add() and canonical in SETTING_NAMES:
        line = "+" + line
    if canonical == CONF_GROUP and not parsed.is_delete():
        result.conf = str(parsed.value())
    elif canonical in SETTING_NAMES:
        result.keys.add(canonical)
    result.lines.append(line)


def _split(item: str) -> tuple[str, str, str, str]:
    """``(prefix, key, '=', value)``: prefix is '', '+', '++' or '~'."""
    prefix = re.match(r"~|\+{0,2}", item.lstrip()).group(0)  # type: ignore[union-attr]
    key, sep, raw = item.lstrip()[len(prefix):].partition("=")
    return prefix, key.strip(), sep, raw


def _parse(parser: OverridesParser, line: str) -> Override | str:
    """The parsed override, or the first line of the grammar's complaint."""
    try:
        return parser.parse_override(line)
    except HydraException as error:
        return str(error).strip().splitlines()[0]
    except RecursionError:
        return "the value is nested too deeply (brackets inside brackets)"
    except ValueError as error:  # e.g. Python's limit of 4300 digits for an integer
        return f"the value cannot be read ({str(error).split(';')[0]})"


def _quoted(text: str) -> str:
    """``text`` as a single-quoted value of Hydra's grammar, where a backslash escapes only a quote."""
    escaped = re.sub(r"(\\*)'", lambda match: match.group(1) * 2 + "\\'", text)
    escaped = re.sub(r"(\\+)$", lambda match: match.group(1) * 2, escaped)
    return f"'{escaped}'"
