"""Write settings back out as YAML that loads to the same settings (used by `dreamloom settings` and runs)."""

from __future__ import annotations

import yaml

from dreamloom.settings.schema import Settings


def settings_to_yaml(settings: Settings) -> str:
    """Every setting in schema order, choices by their pytti spelling, the seed as the number used."""
    return yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=1000)
