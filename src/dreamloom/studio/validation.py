"""Checking the form as ``dreamloom settings`` checks a config: the same loader, plan and words.

A render started from the studio reads the same YAML, so whatever passes here starts; whatever fails shows
the command line's message next to the setting it names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamloom.errors import DreamloomError
from dreamloom.plan import build_plan
from dreamloom.settings.dump import settings_to_yaml
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import Settings
from dreamloom.studio.form import FormField, form_yaml, from_form, problems_by_setting
from dreamloom.studio.gallery import inside


@dataclass(frozen=True)
class Checked:
    """The outcome of a check: the settings when they are valid, else the problems by setting (``""``: none)."""

    settings: Settings | None
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def yaml(self) -> str:
        """The resolved settings as the config file a render reads (seed included)."""
        assert self.settings is not None
        return settings_to_yaml(self.settings)


def check_form(fields: list[FormField], values: Mapping[str, Any], output_root: Path, cwd: Path, config: Path) -> Checked:
    """Write the form to the YAML file ``config`` and check it as ``dreamloom settings CONFIG`` does: load it,
    compile its plan, check render supports it. The output folder must also lie under ``output_root``, the
    only folder the studio shows."""
    _, yaml_problems = from_form(fields, values)
    if yaml_problems:
        return Checked(None, {name: [message] for name, message in yaml_problems.items()})
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(form_yaml(fields, values), encoding="utf-8")
    # torch comes with render: imported at the first check, so the page is up before it loads
    from dreamloom.render import check_supported

    names = {field.name for field in fields}
    try:
        settings = load_settings(config, cwd=cwd)
        build_plan(settings)
        check_supported(settings)
    except DreamloomError as error:
        return Checked(None, problems_by_setting(str(error), names))
    if not inside(cwd / settings.output_dir, output_root):
        outside = (f"output_dir: {settings.output_dir} is outside {output_root}, the folder this studio shows; "
                   "choose a folder inside it, or start the studio with --output pointing above it.")
        return Checked(None, {"output_dir": [outside]})
    return Checked(settings)


def load_form_settings(source: Path, cwd: Path) -> dict[str, Any]:
    """The settings of a config file (pytti configs included) as JSON-like values for :func:`~.form.to_form`."""
    return load_settings(source, cwd=cwd).model_dump(mode="json")
