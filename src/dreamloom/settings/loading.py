"""Read settings from YAML files, Python mappings and command-line overrides into a :class:`Settings`.

Configs are composed as pytti composes them, with Hydra's compose API and override grammar over OmegaConf
(see :mod:`dreamloom.settings.compose`): ``${other_setting}`` interpolations, ``${now:...}`` seeds,
``${user_cache:}``, ``# @package _global_`` headers, ``defaults:`` lists and ``conf=NAME`` all behave as in
pytti. dreamloom's defaults sit under the config, so a file only needs the settings it changes. Every
problem of a load is collected and reported together in one :class:`SettingsError`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import KeyValidationError, OmegaConfBaseException
from pydantic import ValidationError

from dreamloom.errors import SettingsError
from dreamloom.settings.compose import compose_config, declares_conf
from dreamloom.settings.interpolation import refused_interpolations, resolve
from dreamloom.settings.names import KEY_ALIASES, did_you_mean
from dreamloom.settings.overrides import (
    COMMAND_LINE,
    CONF_GROUP,
    Overrides,
    read_overrides,
)
from dreamloom.settings.schema import SETTING_NAMES, CrossFieldError, Settings

#: pytti's config folder under the working directory: ``default.yaml`` and ``conf/NAME.yaml``.
PYTTI_CONFIG_DIR = "config"


@dataclass(frozen=True)
class Source:
    """The user's config before composition; ``origin`` names it in errors, ``folders`` hold its config groups."""

    origin: str
    config: DictConfig
    folders: tuple[Path, ...]


def load_settings(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    *,
    cwd: str | Path | None = None,
) -> Settings:
    """Load and validate settings.

    ``source`` is a YAML file, a mapping, or None (dreamloom's defaults; with ``conf=NAME`` pytti's layout:
    ``config/default.yaml`` and ``config/conf/NAME.yaml`` under ``cwd``). ``overrides`` are Hydra override
    strings (``key=value``, ``+key=value``, ``~key``, ``conf=NAME``) or a mapping applied last.
    """
    base_dir = Path(cwd) if cwd is not None else Path.cwd()
    lines = [] if isinstance(overrides, Mapping) else list(overrides)
    folders = tuple(_search_dirs(source, base_dir))
    parsed = read_overrides(lines, _groups(folders))
    if parsed.problems:
        raise SettingsError(_report(parsed.problems, COMMAND_LINE))
    config_source = _read_source(source, base_dir, folders, parsed.conf is not None)
    declare = parsed.conf is not None and not declares_conf(config_source.config)
    defaults = Settings.model_construct().model_dump(mode="json")
    composed = compose_config(defaults, config_source.config, parsed.lines, config_source.folders, declare)
    if isinstance(overrides, Mapping):
        _apply_mapping(composed, overrides, parsed)
    return _validate(composed, parsed, config_source.origin)


def _validate(composed: DictConfig, parsed: Overrides, origin: str) -> Settings:
    """Resolve the composed config and validate it, reporting every problem at once."""

    def where(key: str) -> str:
        return COMMAND_LINE if key.split(".")[0] in parsed.keys else origin

    refused = refused_interpolations(composed)
    values, unresolved = resolve(composed) if not refused else ({}, [])
    problems = [f"{key} (in {where(key)}): {message}." for key, message in refused + unresolved]
    problems += _unknown_keys(values, origin)
    values = {key: value for key, value in values.items() if key in SETTING_NAMES or key in KEY_ALIASES}
    _apply_aliases(values, parsed.keys)
    origins = {key: where(key) for key in values}
    if values.get("seed") is None:
        values["seed"] = secrets.randbelow(2**31)
    settings = None
    try:
        settings = Settings(**values)
    except ValidationError as error:
        problems += _describe(error, values, origins)
    if problems or settings is None:
        raise SettingsError(_report(problems, origin))
    return settings


def _search_dirs(source: str | Path | Mapping[str, Any] | None, base_dir: Path) -> list[Path]:
    """Where config groups are looked for: the config file's folder, then pytti's ``config`` folder."""
    folders = []
    if isinstance(source, (str, Path)):
        folders.append(_absolute(Path(source), base_dir).parent)
    pytti = base_dir / PYTTI_CONFIG_DIR
    if pytti.is_dir() and pytti not in folders:
        folders.append(pytti)
    return folders


def _groups(folders: Sequence[Path]) -> set[str]:
    """The config groups a defaults list can name: the sub-folders of the search folders."""
    return {child.name for folder in folders if folder.is_dir() for child in folder.iterdir() if child.is_dir()}


def _read_source(
    source: str | Path | Mapping[str, Any] | None, base_dir: Path, folders: tuple[Path, ...], pytti_layout: bool
) -> Source:
    """The user's config: the mapping, the file, pytti's ``config/default.yaml`` (with ``conf=``), or nothing."""
    if isinstance(source, Mapping):
        try:
            config = OmegaConf.create(dict(source))
        except OmegaConfBaseException as error:
            raise SettingsError(f"The settings mapping holds a value a config cannot hold: {str(error).splitlines()[0]}.") from None
        return Source("the settings mapping", _named_settings(config, "The settings mapping"), folders)
    if source is not None:
        path = _absolute(Path(source), base_dir)
        return Source(str(path), read_yaml(path), folders)
    default_file = base_dir / PYTTI_CONFIG_DIR / "default.yaml"
    if pytti_layout and default_file.is_file():
        return Source(f"{default_file.parent} (pytti's config folder)", read_yaml(default_file), folders)
    return Source("defaults", OmegaConf.create({}), folders)


def _absolute(path: Path, base_dir: Path) -> Path:
    return path if path.is_absolute() else base_dir / path


def read_yaml(path: Path) -> DictConfig:
    """Read one YAML settings file as OmegaConf reads it; a missing file, a YAML error or a non-mapping is a SettingsError."""
    if not path.is_file():
        raise SettingsError(f"Config file not found: {path}. Check the path (pytti layout: config/conf/NAME.yaml with conf=NAME).")
    try:
        config = OmegaConf.load(path)
    except KeyValidationError:
        raise SettingsError(f"{path}: a setting name is empty or not text (e.g. a line `null: 1`); every line must be "
                            "`name: value`, e.g. `width: 512`.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise SettingsError(f"{path}: not valid YAML{where}: {problem}. Fix the file and try again.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read ({error}).") from None
    except RecursionError:
        raise SettingsError(f"{path}: its values are nested too deeply to read (brackets inside brackets); "
                            "settings need at most a few levels.") from None
    except ValueError as error:  # e.g. Python's limit of 4300 digits for an integer
        raise SettingsError(f"{path}: holds a value that cannot be read: {str(error).split(';')[0]}.") from None
    except OmegaConfBaseException as error:
        raise SettingsError(f"{path}: {str(error).splitlines()[0]}. Fix the file and try again.") from None
    if not isinstance(config, DictConfig):
        raise SettingsError(f"{path}: must hold a mapping of settings (key: value lines), not a list.")
    return _named_settings(config, str(path))


def _named_settings(config: DictConfig, origin: str) -> DictConfig:
    """Refuse top-level keys that are not text (YAML reads ``1:`` and ``true:`` as a number and a flag)."""
    odd = [key for key in config if not isinstance(key, str)]
    if odd:
        raise SettingsError(f"{origin}: {odd[0]!r} is not a setting name; setting names are text, e.g. `width: 512`.")
    return config


def _apply_mapping(composed: DictConfig, overrides: Mapping[str, Any], parsed: Overrides) -> None:
    """A mapping of overrides goes on last, as Hydra applies its overrides."""
    for raw_key, value in overrides.items():
        key = KEY_ALIASES.get(raw_key, raw_key)
        try:
            OmegaConf.update(composed, key, value, merge=True, force_add=True)
        except OmegaConfBaseException as error:
            raise SettingsError(f"{raw_key} (in {COMMAND_LINE}): {str(error).splitlines()[0]}.") from None
        parsed.keys.add(key)


def _unknown_keys(values: Mapping[str, Any], origin: str) -> list[str]:
    problems = []
    for key, value in values.items():
        if key in SETTING_NAMES or key in KEY_ALIASES:
            continue
        if key == CONF_GROUP and isinstance(value, dict):
            problems.append(
                f"conf (in {origin}): the conf file's first line is not '# @package _global_', so Hydra nests its "
                "settings under 'conf:' and pytti would ignore them; add that line at the top of the file.")
        else:
            problems.append(f"{key} (in {origin}): unknown setting.{did_you_mean(key)}")
    return problems


def _apply_aliases(values: dict[str, Any], command_line: set[str]) -> None:
    """pytti's misspelled keys set their setting, unless the command line set it by its right name."""
    for alias, key in KEY_ALIASES.items():
        if alias in values:
            value = values.pop(alias)
            if key not in command_line:
                values[key] = value


def _describe(error: ValidationError, values: Mapping[str, Any], origins: Mapping[str, str]) -> list[str]:
    """One line per validation problem: the key, the value, where it came from, what is allowed."""
    lines = []
    for item in error.errors():
        cross = item.get("ctx", {}).get("error")
        if isinstance(cross, CrossFieldError):
            lines.extend(f"{key}: {message}{_origin(key, origins)}." for key, message in cross.problems)
            continue
        location = list(item["loc"])
        key = str(location[0]) if location else "settings"
        path, shown = _located(location, values)
        message = item["msg"].replace("Input should be", "must be").replace("Value error, ", "")
        if item["type"] == "missing":
            message = f"{location[-1]} is required"
        lines.append(f"{path}{shown}{_origin(key, origins)}: {message}.")
    return lines


def _located(location: Sequence[object], values: Mapping[str, Any]) -> tuple[str, str]:
    """The dotted path of the deepest value that exists along ``location``, and that value as ``' = ...'``."""
    value: Any = values
    reached: list[str] = []
    for part in location:
        if not _holds(value, part):
            break
        value = value[part]
        reached.append(str(part))
    if not reached:
        return ".".join(str(part) for part in location), ""
    return ".".join(reached), f" = {value!r}"


def _holds(container: Any, part: object) -> bool:
    """Whether ``container[part]`` exists: a key of a mapping or an index of a list."""
    if isinstance(container, Mapping):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _origin(key: str, origins: Mapping[str, str]) -> str:
    return f" (from {origins[key]})" if key in origins else ""


def _report(problems: list[str], origin: str) -> str:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"Invalid settings ({count}; read from {origin}):\n" + "\n".join(f"  - {line}" for line in problems)
