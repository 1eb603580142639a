"""Reading a picture at arbitrary pixel positions, with pytti's sampling and infill modes (§2.1).

Every mode is an interpolation kernel over integer taps; infill only decides which pixel an off-picture
tap reads, so the four infill modes behave the same way under every sampling mode:

* ``black``: off-picture taps read 0 (``grid_sample`` padding ``zeros``);
* ``smear``: taps clamp to the edge pixel (padding ``border``);
* ``mirror``: taps reflect about the edge pixels' centres (padding ``reflection``, ``align_corners``);
* ``wrap``: taps read the opposite edge, with a period of exactly the picture's size (pytti's period of
  2.0001 normalised units leaves a one-pixel seam).

``bicubic`` uses the Catmull-Rom kernel (a = −½), not PyTorch's a = −¾ that pytti gets from
``grid_sample``: Catmull-Rom reproduces linear ramps, so a fractional move shifts a blob's centroid by
exactly the move, where a = −¾ misses it by up to 0.048 px per frame and animations drift.
"""

from __future__ import annotations

import itertools

import torch

from dreamloom.settings.choices import InfillMode, SamplingMode

Tap = tuple[torch.Tensor, torch.Tensor]
"""An integer pixel index and its interpolation weight, both shaped like the coordinates."""


def _catmull_rom(frac: torch.Tensor) -> list[torch.Tensor]:
    """Weights of the taps at offsets −1, 0, 1, 2 for a position ``frac`` ∈ [0, 1) past tap 0 (Keys 1981)."""
    t2, t3 = frac * frac, frac * frac * frac
    return [
        0.5 * (-t3 + 2 * t2 - frac),
        0.5 * (3 * t3 - 5 * t2 + 2),
        0.5 * (-3 * t3 + 4 * t2 + frac),
        0.5 * (t3 - t2),
    ]


def kernel_taps(coord: torch.Tensor, sampling: SamplingMode) -> list[Tap]:
    """The integer taps that ``sampling`` reads along one axis, and their weights.

    Nearest rounds half to even, as ``grid_sample`` does.

    Shape: coord [*] -> each index and weight [*]
    """
    if sampling is SamplingMode.NEAREST:
        return [(coord.detach().round().long(), torch.ones_like(coord))]
    base = coord.detach().floor()
    frac = coord - base
    index = base.long()
    if sampling is SamplingMode.BILINEAR:
        return [(index, 1 - frac), (index + 1, frac)]
    return [(index + offset, weight) for offset, weight in zip((-1, 0, 1, 2), _catmull_rom(frac), strict=True)]


def fold_index(index: torch.Tensor, size: int, infill: InfillMode) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Map taps onto the picture along an axis of ``size`` pixels; for ``black``, also which taps lie on it.

    Shape: index [*] -> index [*] in [0, size), mask [*] or None
    """
    if infill is InfillMode.BLACK:
        inside = (index >= 0) & (index < size)
        return index.clamp(0, size - 1), inside
    if infill is InfillMode.SMEAR:
        return index.clamp(0, size - 1), None
    if infill is InfillMode.WRAP:
        return index.remainder(size), None
    if size == 1:
        return torch.zeros_like(index), None
    last = size - 1
    return last - (index.remainder(2 * last) - last).abs(), None


def sample_at(
    image: torch.Tensor, points: torch.Tensor, sampling: SamplingMode, infill: InfillMode
) -> torch.Tensor:
    """Read ``image`` at pixel positions ``points`` = (x, y), pixel centres at integers.

    Differentiable in the image and (bilinear, bicubic) in the positions.

    Shape: image [N, C, H, W], points [N, h, w, 2] -> [N, C, h, w]
    """
    batch, channels, height, width = image.shape
    flat = image.reshape(batch, channels, height * width)
    out_shape = (batch, channels, *points.shape[1:3])
    taps_x = kernel_taps(points[..., 0], sampling)
    taps_y = kernel_taps(points[..., 1], sampling)
    result = image.new_zeros(out_shape)
    for (row, weight_y), (col, weight_x) in itertools.product(taps_y, taps_x):
        row, inside_y = fold_index(row, height, infill)
        col, inside_x = fold_index(col, width, infill)
        weight = weight_y * weight_x
        if inside_y is not None and inside_x is not None:
            weight = weight * (inside_y & inside_x)
        index = (row * width + col).reshape(batch, 1, -1).expand(batch, channels, -1)
        result = result + flat.gather(2, index).reshape(out_shape) * weight[:, None]
    return result
