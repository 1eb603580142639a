"""Settings: the typed schema, loading from YAML/overrides, and YAML output."""

from dreamloom.settings.schema import Settings

__all__ = ["Settings"]
