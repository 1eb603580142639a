"""dreamloom: steer images with CLIP perceptors; runs pytti-core configs unchanged."""

from __future__ import annotations

from dreamloom.errors import DreamloomError
from dreamloom.version import __version__

__all__ = ["DreamloomError", "load_settings", "render", "__version__"]


def __getattr__(name: str):
    """Import the heavy parts lazily so `import dreamloom` stays fast."""
    if name == "load_settings":
        from dreamloom.settings.loading import load_settings

        return load_settings
    if name == "render":
        from dreamloom.render import render

        return render
    raise AttributeError(name)
