"""The records of the weights registry: a model family, a downloadable file, and a registry entry.

Kept apart from :mod:`dreamloom.models.registry` so the per-family data modules can build entries without
importing the registry that gathers them.
"""

from __future__ import annotations

import dataclasses
import enum


class Family(enum.Enum):
    """What kind of model an entry's weights belong to; also the entry's folder in the cache."""

    PERCEPTOR = "open_clip"
    VQGAN = "vqgan"
    DEPTH = "depth"
    FLOW = "flow"

    @property
    def label(self) -> str:
        """The name commands show and accept (``--family perceptor``)."""
        return self.name.lower()


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """One set of bytes: where it goes in the cache and the URLs that serve exactly these bytes.

    ``filename`` is relative to the cache folder (``models_parent_dir``) and starts with the family's
    folder; ``urls`` are tried in order (preferred host first, then mirrors). ``size`` and ``sha256`` are
    None where no trustworthy value is known: the file is then checked by what is known, never against an
    invented value.
    """

    filename: str
    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One downloadable model (or model file) and what a user needs to know about it.

    ``files`` are the forms the same weights are published in, preferred first (open_clip weights exist as
    safetensors and as pickles): one installed form is enough. ``aliases`` are other names users know it by
    (a pytti perceptor flag, a ``vqgan_model`` name).
    """

    name: str
    family: Family
    files: tuple[WeightsFile, ...]
    licence: str
    description: str
    aliases: tuple[str, ...] = ()
