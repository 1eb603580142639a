"""Frame-to-frame motion of the picture: the 2D warp (see docs/animation.md)."""

from dreamloom.animation.motion2d import Motion2D, SubpixelCarry, carry_translation, source_from_target
from dreamloom.animation.resample import sample_at
from dreamloom.animation.warp2d import Warp2D, warp_affine

__all__ = [
    "Motion2D",
    "SubpixelCarry",
    "Warp2D",
    "carry_translation",
    "sample_at",
    "source_from_target",
    "warp_affine",
]
