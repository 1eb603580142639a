"""Enumerations for choice settings, with the pytti spellings (and known misspellings) they accept.

pytti compares these strings exactly; dreamloom accepts any capitalisation and the variants pytti users
write, then works with enums internally.
"""

from __future__ import annotations

import enum


class Choice(str, enum.Enum):
    """A setting with a fixed set of values; ``aliases`` maps extra spellings (lower-case) to members."""

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {}

    @classmethod
    def lookup(cls, raw: object) -> object:
        """Return the member value for ``raw`` (case-insensitive, aliases allowed) or ``raw`` unchanged."""
        if isinstance(raw, cls):
            return raw.value
        if not isinstance(raw, str):
            return raw
        key = raw.strip().lower()
        for member in cls:
            if member.value.lower() == key:
                return member.value
        return cls.aliases().get(key, raw)


class ChoiceWithOff(Choice):
    """A choice with an ``off`` member, which YAML's unquoted ``off`` (read as false) or null selects."""

    @classmethod
    def lookup(cls, raw: object) -> object:
        if raw is False or raw is None:
            return "off"
        return super().lookup(raw)


class ImageModelChoice(Choice):
    UNLIMITED = "Unlimited Palette"
    LIMITED = "Limited Palette"
    VQGAN = "VQGAN"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"limimted palette": cls.LIMITED.value}


class VqganModel(Choice):
    IMAGENET = "imagenet"
    COCO = "coco"
    WIKIART = "wikiart"
    SFLCKR = "sflckr"
    OPENIMAGES = "openimages"
    IMAGENET_1024 = "imagenet_1024"

    @classmethod
    def aliases(cls) -> dict[str, str]:
        return {"sflickr": cls.SFLCKR.value}


class AnimationMode(ChoiceWithOff):
    OFF = "off"
    TWO_D = "2D"
    THREE_D = "3D"
    VIDEO_SOURCE = "Video Source"


class DepthModel(Choice):
    """The depth model of ``animation_mode: 3D``; ``flat`` needs no weights (a plane at mid-depth)."""

    DEPTH_ANYTHING_V2_SMALL = "depth-anything-v2-small"
    DEPTH_ANYTHING_V2_BASE = "depth-anything-v2-base"
    FLAT = "flat"


class SamplingMode(Choice):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


class InfillMode(Choice):
    MIRROR = "mirror"
    WRAP = "wrap"
    BLACK = "black"
    SMEAR = "smear"


class BorderMode(Choice):
    """How cutouts that reach past the image edge are filled (pytti's ``border_mode``)."""

    CLAMP = "clamp"  # offsets are clamped so cutouts stay inside the image
    MIRROR = "mirror"  # reflect without repeating the edge pixel
    WRAP = "wrap"  # the image tiles periodically
    BLACK = "black"  # zeros outside the image
    SMEAR = "smear"  # the edge pixel repeats


class Precision(Choice):
    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"


class InterpolationMode(Choice):
    LOSS = "loss"
    EMBEDDING = "embedding"


class VideoFormat(ChoiceWithOff):
    """The video an animated run ends with (``off`` writes none)."""

    OFF = "off"
    MP4 = "mp4"
    GIF = "gif"
    WEBM = "webm"


class OpticalFlowModel(Choice):
    """The optical flow of ``animation_mode: Video Source`` (and 3D flow stabilization)."""

    RAFT_LARGE = "raft-large"  # torchvision RAFT, Sintel-tuned weights from the registry
    RAFT_SMALL = "raft-small"  # torchvision RAFT-small, 4 MB of weights
    DIS = "dis"  # OpenCV's DIS: no weights, fast on a CPU, not differentiable
