"""Registry entries for the VQGAN configs and checkpoints pytti users know (image-models.md §6.1).

Files keep pytti's cache layout ``vqgan/<name>.yaml|.ckpt`` under ``models_parent_dir``, so a pytti cache
folder can be reused as is. Sizes are those of the PyTTI Portable mirror manifest quoted in the reference
notes; no sha256 of these files is published, so none is recorded. Only the checkpoints are needed to
render (the architectures are in :mod:`dreamloom.images.vqgan.registry`); the configs are listed for
completeness and for users who keep a pytti cache. A checkpoint is also known by its ``vqgan_model`` name.
"""

from __future__ import annotations

from dreamloom.models.entries import Family, ModelEntry, WeightsFile

_TAMING = "MIT (taming-transformers release by CompVis)"
_HEIBOX = "https://heibox.uni-heidelberg.de"


def _heibox_share(share: str, path: str) -> str:
    return f"{_HEIBOX}/d/{share}/files/?p={path}&dl=1"


def _pair(
    name: str,
    licence: str,
    config: tuple[tuple[str, ...], int | None],
    checkpoint: tuple[tuple[str, ...], int | None],
    description: str,
    aliases: tuple[str, ...] = (),
) -> tuple[ModelEntry, ModelEntry]:
    """The config and checkpoint entries of one model; the checkpoint answers to ``name`` and ``aliases``."""
    return (
        ModelEntry(
            name=f"vqgan-{name}-config",
            family=Family.VQGAN,
            files=(WeightsFile(f"vqgan/{name}.yaml", config[0], size=config[1]),),
            licence=licence,
            description=f"{description} (training config, not needed to render)",
        ),
        ModelEntry(
            name=f"vqgan-{name}",
            family=Family.VQGAN,
            files=(WeightsFile(f"vqgan/{name}.ckpt", checkpoint[0], size=checkpoint[1]),),
            licence=licence,
            description=description,
            aliases=(name, *aliases),
        ),
    )


def vqgan_entries() -> tuple[ModelEntry, ...]:
    """Config + checkpoint for each VQGAN model; pytti's host first unless it is known gone, then mirrors."""
    imagenet = "a7530b09fed84f80a887"
    imagenet_1024 = "8088892a516d4e3baf92"
    sflckr = "73487ab6e5314cb5adba"
    return (
        *_pair(
            "imagenet",
            _TAMING,
            (
                (f"{_HEIBOX}/f/274fb24ed38341bfa753/?dl=1", _heibox_share(imagenet, "%2Fconfigs%2Fmodel.yaml")),
                692,
            ),
            (
                (f"{_HEIBOX}/f/867b05fc8c4841768640/?dl=1", _heibox_share(imagenet, "%2Fckpts%2Flast.ckpt")),
                980_092_370,
            ),
            "VQGAN ImageNet f16, 16384 codes (vqgan_imagenet_f16_16384)",
        ),
        *_pair(
            "imagenet_1024",
            _TAMING,
            ((_heibox_share(imagenet_1024, "%2Fconfigs%2Fmodel.yaml"),), None),
            ((_heibox_share(imagenet_1024, "%2Fckpts%2Flast.ckpt"),), None),
            "VQGAN ImageNet f16, 1024 codes (vqgan_imagenet_f16_1024)",
        ),
        *_pair(
            "coco",
            _TAMING,
            (
                (
                    "https://batbot.ai/models/VQGAN/coco_first_stage.yaml",
                    "http://batbot.ai/models/VQGAN/coco_first_stage.yaml",
                    "https://dl.nmkd.de/ai/clip/coco/coco.yaml",
                ),
                458,
            ),
            (
                (
                    "https://batbot.ai/models/VQGAN/coco_first_stage.ckpt",
                    "http://batbot.ai/models/VQGAN/coco_first_stage.ckpt",
                    "https://dl.nmkd.de/ai/clip/coco/coco.ckpt",
                ),
                296_030_214,
            ),
            "VQGAN COCO first stage f16, 8192 codes",
        ),
        *_pair(
            "wikiart",
            "unknown (community-trained; no licence published)",
            (
                (
                    "https://github.com/pixray/pixray/releases/download/v1.7.1/vqgan_wikiart_16384.yaml",
                    "http://eaidata.bmk.sh/data/Wikiart_16384/wikiart_f16_16384_8145600.yaml",
                ),
                920,
            ),
            (
                (
                    "https://github.com/pixray/pixray/releases/download/v1.7.1/vqgan_wikiart_16384.ckpt",
                    "http://eaidata.bmk.sh/data/Wikiart_16384/wikiart_f16_16384_8145600.ckpt",
                ),
                1_005_327_541,
            ),
            "VQGAN WikiArt f16, 16384 codes",
        ),
        *_pair(
            "sflckr",
            _TAMING,
            ((_heibox_share(sflckr, "%2Fconfigs%2F2020-11-09T13-31-51-project.yaml"),), 1_603),
            ((_heibox_share(sflckr, "%2Fcheckpoints%2Flast.ckpt"),), 4_263_525_412),
            "S-FLCKR transformer checkpoint; dreamloom uses only its f16 1024-code first stage",
            aliases=("sflickr",),
        ),
        *_pair(
            "openimages",
            _TAMING,
            ((_heibox_share("2e5662443a6b4307b470", "%2Fconfigs%2Fmodel.yaml"),), 745),
            ((_heibox_share("2e5662443a6b4307b470", "%2Fckpts%2Flast.ckpt"),), 376_581_823),
            "Gumbel VQGAN OpenImages f8, 8192 codes",
        ),
    )
