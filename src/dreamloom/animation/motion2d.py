"""One frame of 2D motion and the pixel-space affine map it stands for (animation-losses-outputs.md §2.3).

The five numbers are pytti's per-frame increments, in pixels of the tensor being warped (the internal
grid for the Unlimited and Limited Palette models, the decoded picture for VQGAN, as in pytti): content
moves right by ``translate_x``, up by ``translate_y``, turns counter-clockwise by ``rotate_2d`` degrees
about the centre, and ``zoom_x_2d``/``zoom_y_2d`` pixels less of the width/height are stretched over the
frame (scale ``w / (w − zoom_x_2d)``). Unlike pytti, translation moves exactly that many pixels (pytti
moves ``T·(n−1)/n``) and rotation is rigid on non-square pictures (pytti rotates in normalised
coordinates, which shears them).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from dreamloom.settings.choices import SamplingMode


@dataclasses.dataclass(frozen=True)
class Motion2D:
    """The evaluated 2D motion settings of one frame, named as the settings."""

    translate_x: float = 0.0
    translate_y: float = 0.0
    rotate_2d: float = 0.0
    zoom_x_2d: float = 0.0
    zoom_y_2d: float = 0.0


@dataclasses.dataclass(frozen=True)
class SubpixelCarry:
    """Translation requested but not yet applied, in pixels; part of the run state between frames."""

    x: float = 0.0
    y: float = 0.0


def source_from_target(
    motion: Motion2D,
    height: int,
    width: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The affine map from a pixel of the moved picture to where it is read in the old one.

    Pixel coordinates are (x right, y down) with pixel centres at integers. The map is
    ``s = R(θ)·diag(zx, zy)·(p − c) + c + (−translate_x, translate_y)`` with ``c`` the picture's centre and
    ``zx = (w − zoom_x_2d)/w`` as in pytti; reading from ``R(θ)·p`` turns the content by −θ in the
    y-down frame, i.e. counter-clockwise on screen.

    Shape: -> [2, 3]
    """
    zx = (width - motion.zoom_x_2d) / width
    zy = (height - motion.zoom_y_2d) / height
    cos, sin = math.cos(math.radians(motion.rotate_2d)), math.sin(math.radians(motion.rotate_2d))
    linear = ((zx * cos, -zy * sin), (zx * sin, zy * cos))
    cx, cy = (width - 1) / 2, (height - 1) / 2
    offset_x = cx - linear[0][0] * cx - linear[0][1] * cy - motion.translate_x
    offset_y = cy - linear[1][0] * cx - linear[1][1] * cy + motion.translate_y
    rows = ((*linear[0], offset_x), (*linear[1], offset_y))
    return torch.tensor(rows, dtype=dtype, device=device)


def carry_translation(
    motion: Motion2D, carry: SubpixelCarry, sampling: SamplingMode
) -> tuple[Motion2D, SubpixelCarry]:
    """The motion to apply this frame and the carry for the next, so sub-pixel moves add up.

    Nearest sampling cannot move a picture by a fraction of a pixel, so 0.25 px per frame would never
    move it. Here nearest frames move by whole pixels, rounding the requested total and carrying the
    remainder: after any number of frames the picture's centre has moved by the rounded sum of all
    translations (error ≤ ½ px, never growing). Bilinear and bicubic move by fractions exactly, so
    their motion passes through and the carry stays zero.
    """
    if sampling is not SamplingMode.NEAREST:
        return motion, carry
    want_x, want_y = carry.x + motion.translate_x, carry.y + motion.translate_y
    step_x, step_y = round(want_x), round(want_y)
    applied = dataclasses.replace(motion, translate_x=float(step_x), translate_y=float(step_y))
    return applied, SubpixelCarry(want_x - step_x, want_y - step_y)
