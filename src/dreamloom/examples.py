"""Configs bundled with dreamloom (``dreamloom render --example NAME``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dreamloom.errors import SettingsError


def example_names() -> list[str]:
    folder = resources.files("dreamloom") / "assets" / "examples"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def example_path(name: str) -> Path:
    """The file of a bundled example; an unknown name lists the ones that exist."""
    if name not in example_names():
        raise SettingsError(f"--example: there is no bundled example {name!r}; choose one of {', '.join(example_names())}.")
    return Path(str(resources.files("dreamloom") / "assets" / "examples" / f"{name}.yaml"))
