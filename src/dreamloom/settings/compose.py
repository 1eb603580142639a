"""Compose a config with Hydra's compose API, as pytti composes ``config/default.yaml`` with ``conf=NAME``.

dreamloom's defaults come first, then the user's config (with its own ``defaults:`` list, so pytti's
``conf: _empty``, ``# @package _global_`` headers and any other config group work as in Hydra), then the
overrides. Hydra's global state is saved and restored around the call, so loading settings inside a
notebook or program that uses Hydra itself leaves it untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra import compose, initialize
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException, MissingConfigException
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from dreamloom.errors import SettingsError
from dreamloom.settings.overrides import CONF_GROUP

_PRIMARY = "_dreamloom_primary_"
_SOURCE = "_dreamloom_source_"


def compose_config(
    base: Mapping[str, Any], source: DictConfig, overrides: Sequence[str], search_dirs: Sequence[Path], declare_conf: bool
) -> DictConfig:
    """``base``, then ``source`` and the configs its defaults list names (found in ``search_dirs``), then
    ``overrides``; ``declare_conf`` lets ``conf=NAME`` select a conf when ``source`` declares none."""
    store = ConfigStore.instance()
    store.store(group=CONF_GROUP, name="_empty", node={}, package="_global_")  # pytti's empty conf
    store.store(name=_SOURCE, node=source)
    defaults: list[Any] = ["_self_", _SOURCE] + ([{CONF_GROUP: None}] if declare_conf else [])
    searchpath = [f"file://{folder}" for folder in search_dirs]
    store.store(name=_PRIMARY, node={"defaults": defaults, "hydra": {"searchpath": searchpath}, **base})
    try:
        with _own_global_hydra(), initialize(version_base=None, config_path=None):
            return compose(_PRIMARY, overrides=list(overrides))
    except MissingConfigException as error:
        raise SettingsError(_missing_config(error, search_dirs)) from None
    except (HydraException, OmegaConfBaseException, ValueError) as error:  # ValueError: e.g. `defaults: 5`
        raise SettingsError(f"The settings cannot be composed: {_hydra_message(error)}") from None


def declares_conf(source: DictConfig) -> bool:
    """Whether the config's own defaults list names pytti's ``conf`` group (``- conf: _empty``)."""
    entries = source.get("defaults") or []
    keys = (str(key) for entry in entries if isinstance(entry, Mapping) for key in entry)
    return any(re.sub(r"^(override|optional)\s+", "", key).split("@")[0] == CONF_GROUP for key in keys)


@contextmanager
def _own_global_hydra() -> Iterator[None]:
    """Compose with a fresh global Hydra and give the caller's back afterwards."""
    saved = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        restore_gh_from_backup(saved)


def _missing_config(error: MissingConfigException, search_dirs: Sequence[Path]) -> str:
    """Name the file that was looked for and where; list the confs that exist."""
    match = re.search(r"Could not find '([^']+)'", str(error))
    wanted = f"{match.group(1)}.yaml" if match else str(error.missing_cfg_file or "")
    places = ", ".join(str(folder / wanted) for folder in search_dirs) or wanted
    options = f" Available: {', '.join(sorted(error.options))}." if error.options else ""
    return f"Config file not found: {places}. pytti's layout is config/conf/NAME.yaml, selected with conf=NAME.{options}"


def _hydra_message(error: Exception) -> str:
    """Hydra's message without the name of dreamloom's internal primary config."""
    text = str(error) or str(error.__cause__ or type(error).__name__)
    return " ".join(text.replace(f"In '{_PRIMARY}': ", "").split())
