"""Read settings from YAML files, Python mappings and ``key=value`` overrides into a :class:`Settings`.

pytti's files load as they are: the ``# @package _global_`` comment, a Hydra ``defaults:`` list,
``${now:...}`` seeds, ``${user_cache:}``, YAML's unquoted ``off``, misspelled keys pytti users write.
Every problem of a load is collected and reported together in one :class:`SettingsError`.
"""

from __future__ import annotations

import datetime
import difflib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dreamloom.errors import SettingsError
from dreamloom.settings.schema import SETTING_NAMES, CrossFieldError, Settings

# Keys pytti users write that mean a dreamloom setting.
KEY_ALIASES = {"target_pallete": "target_palette", "lock_pallete": "lock_palette"}
# Keys of pytti's Hydra files that are not settings.
HYDRA_KEYS = frozenset({"defaults", "hydra"})
COMMAND_LINE = "the command line"
MISSING = "???"

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Layer:
    """Settings from one source, in the order they are applied; ``origin`` names the source in errors."""

    origin: str
    values: Mapping[str, Any]


def load_settings(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    *,
    cwd: str | Path | None = None,
) -> Settings:
    """Load and validate settings.

    ``source`` is a YAML file, a mapping, or None (defaults only, or pytti's ``conf=NAME`` layout when the
    overrides name one). ``overrides`` are ``key=value`` strings or a mapping applied on top.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    override_layer, conf_name = _override_layer(overrides)
    layers = _source_layers(source, conf_name, base) + [override_layer]
    return validate_layers(layers)


def validate_layers(layers: Sequence[Layer]) -> Settings:
    """Merge layers (later wins), resolve pytti's interpolations and validate, reporting all problems."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    problems: list[str] = []
    for layer in layers:
        for raw_key, value in layer.values.items():
            key = KEY_ALIASES.get(raw_key, raw_key)
            if key in HYDRA_KEYS:
                continue
            if key not in SETTING_NAMES:
                problems.append(f"{raw_key} (in {layer.origin}): unknown setting.{_did_you_mean(raw_key)}")
                continue
            if value == MISSING:
                continue
            try:
                merged[key] = _resolve_interpolations(value)
            except ValueError as error:
                problems.append(f"{key} (in {layer.origin}): {error}")
                continue
            origins[key] = layer.origin
    if merged.get("seed") is None:
        merged["seed"] = secrets.randbelow(2**31)
    try:
        settings = Settings(**merged)
    except ValidationError as error:
        problems.extend(_describe(error, merged, origins))
        settings = None
    if problems:
        raise SettingsError(_report(problems, layers))
    assert settings is not None
    return settings


def _source_layers(source: str | Path | Mapping[str, Any] | None, conf_name: str | None, base: Path) -> list[Layer]:
    if isinstance(source, Mapping):
        layers = [Layer("the settings mapping", dict(source))]
    elif source is not None:
        path = Path(source)
        layers = [read_yaml_layer(path if path.is_absolute() else base / path)]
    else:
        layers = []
    if conf_name is not None:
        config_dir = base / "config"
        default_file = config_dir / "default.yaml"
        if default_file.exists():
            layers.append(read_yaml_layer(default_file))
        layers.append(read_yaml_layer(config_dir / "conf" / f"{conf_name}.yaml"))
    return layers


def read_yaml_layer(path: Path) -> Layer:
    """Read one YAML settings file; a missing file, a YAML error or a non-mapping is a SettingsError."""
    if not path.is_file():
        raise SettingsError(f"Config file not found: {path}. Check the path (pytti layout: config/conf/NAME.yaml with conf=NAME).")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SettingsError(f"{path}: not valid YAML{where}: {problem}. Fix the file and try again.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read ({error}).") from None
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: must hold a mapping of settings (key: value lines), not a {type(values).__name__}.")
    return Layer(str(path), values)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value``; the value is read as YAML (``cutouts=32`` is a number, ``animation_mode=off`` false)."""
    key, sep, raw = text.partition("=")
    key = key.strip().lstrip("+")
    if not sep or not key:
        raise SettingsError(f"Override {text!r} on {COMMAND_LINE} must look like key=value (e.g. cutouts=32).")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _override_layer(overrides: Sequence[str] | Mapping[str, Any]) -> tuple[Layer, str | None]:
    """The command-line layer, and the pytti ``conf=NAME`` it names (taken out of the layer)."""
    if isinstance(overrides, Mapping):
        values = dict(overrides)
    else:
        values = dict(parse_override(item) for item in overrides)
    conf = values.pop("conf", None)
    return Layer(COMMAND_LINE, values), (str(conf) if conf is not None else None)


def _resolve_interpolations(value: Any) -> Any:
    """Resolve pytti's ``${now:FORMAT}`` and ``${user_cache:}``; anything else in ``${}`` is refused."""
    if isinstance(value, list):
        return [_resolve_interpolations(item) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_interpolations(item) for key, item in value.items()}
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, _, argument = match.group(1).partition(":")
        if name.strip() == "now":
            return datetime.datetime.now().strftime(argument)
        if name.strip() == "user_cache":
            return ""
        raise ValueError(f"the interpolation ${{{match.group(1)}}} is not supported; write the value itself")

    return _INTERPOLATION.sub(replace, value)


def _did_you_mean(key: str) -> str:
    candidates = list(SETTING_NAMES) + list(KEY_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower(): name for name in candidates}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    return f" Did you mean {KEY_ALIASES.get(close[0], close[0])!r}?" if close else " See docs/settings.md for every setting."


def _describe(error: ValidationError, merged: Mapping[str, Any], origins: Mapping[str, str]) -> list[str]:
    """One line per validation problem: the key, the value, where it came from, what is allowed."""
    lines = []
    for item in error.errors():
        cross = item.get("ctx", {}).get("error")
        if isinstance(cross, CrossFieldError):
            lines.extend(f"{key}: {message}{_origin(key, origins)}." for key, message in cross.problems)
            continue
        key = str(item["loc"][0]) if item["loc"] else "settings"
        path = ".".join(str(part) for part in item["loc"])
        value = merged.get(key)
        shown = f" = {value!r}" if key in merged else ""
        message = item["msg"].replace("Input should be", "must be").replace("Value error, ", "")
        lines.append(f"{path}{shown}{_origin(key, origins)}: {message}.")
    return lines


def _origin(key: str, origins: Mapping[str, str]) -> str:
    return f" (from {origins[key]})" if key in origins else ""


def _report(problems: list[str], layers: Sequence[Layer]) -> str:
    sources = ", ".join(layer.origin for layer in layers if layer.values) or "defaults"
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"Invalid settings ({count}; read from {sources}):\n" + "\n".join(f"  - {line}" for line in problems)
