"""The VQGAN architectures dreamloom knows, by pytti's ``vqgan_model`` names (image-models.md §6.1, §6.3).

The table is built on first use, never at import. :func:`get_spec` returns a copy, so callers can
``dataclasses.replace`` it without touching the registry.
"""

from __future__ import annotations

import dataclasses
import functools

from dreamloom.errors import SettingsError
from dreamloom.images.vqgan.spec import VQGANSpec


def _builtin_specs() -> tuple[VQGANSpec, ...]:
    """The six first stages; everything not listed uses taming's f16 defaults of :class:`VQGANSpec`."""
    return (
        VQGANSpec(
            name="imagenet",
            n_embed=16384,
            weights="vqgan-imagenet",
            description="taming vqgan_imagenet_f16_16384 (pytti's 'imagenet')",
        ),
        VQGANSpec(
            name="imagenet_1024",
            n_embed=1024,
            weights="vqgan-imagenet_1024",
            description="taming vqgan_imagenet_f16_1024",
        ),
        VQGANSpec(
            name="coco",
            n_embed=8192,
            weights="vqgan-coco",
            description="taming COCO first stage, f16, 8192 codes",
        ),
        VQGANSpec(
            name="wikiart",
            n_embed=16384,
            weights="vqgan-wikiart",
            description="WikiArt f16, 16384 codes (community-trained)",
        ),
        VQGANSpec(
            name="sflckr",
            n_embed=1024,
            weights="vqgan-sflckr",
            state_dict_prefix="first_stage_model.",
            aliases=("sflickr",),
            description="first stage of taming's S-FLCKR transformer, f16, 1024 codes",
        ),
        VQGANSpec(
            name="openimages",
            n_embed=8192,
            ch_mult=(1, 1, 2, 4),
            attn_resolutions=(32,),
            gumbel=True,
            weights="vqgan-openimages",
            description="taming Gumbel VQGAN f8, 8192 codes (OpenImages)",
        ),
    )


@functools.cache
def _table() -> dict[str, VQGANSpec]:
    table: dict[str, VQGANSpec] = {}
    for spec in _builtin_specs():
        for key in (spec.name, *spec.aliases):
            table[key] = spec
    return table


def list_models() -> list[str]:
    """Canonical names of the registered VQGAN models (aliases such as ``sflickr`` excluded)."""
    return [spec.name for spec in _builtin_specs()]


def get_spec(name: str) -> VQGANSpec:
    """A copy of the spec registered under ``name`` or one of its aliases (case-insensitive)."""
    spec = _table().get(name.strip().lower())
    if spec is None:
        choices = ", ".join(list_models())
        raise SettingsError(f"vqgan_model: unknown VQGAN model {name!r}; choose one of {choices}")
    return dataclasses.replace(spec)
