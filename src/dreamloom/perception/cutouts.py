"""Random square cutouts of the image, drawn first and then cut out in one batched operation.

Sampling follows pytti-core's ``pytti_classic`` sampler (prompts-and-perceptors.md §4.3) but keeps offsets
and sizes continuous (no integer truncation, no +1 off-by-one). Application computes what one ``roi_align``
call over all boxes computes: ``sampling_ratio=-1`` averages ``ceil(crop/size)²`` bilinear samples per
output pixel, which is area averaging when downscaling (pytti used ``adaptive_avg_pool2d``) and bilinear
when upscaling. On a CPU the same samples are taken as two matrix products per cutout (the sampling is
separable in x and y), whose backward pass is several times faster than ``roi_align``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from dreamloom.draws import normal, uniform
from dreamloom.errors import SettingsError
from dreamloom.settings.choices import BorderMode

__all__ = ["BorderMode", "CutoutSettings", "CutoutParams", "sample_cutouts", "apply_cutouts", "pad_image"]


def _border_mode(value: BorderMode | str) -> BorderMode:
    """The border mode ``value`` names in any capitalisation; anything else is a SettingsError."""
    try:
        return BorderMode(BorderMode.lookup(value))
    except ValueError:
        names = ", ".join(member.value for member in BorderMode)
        raise SettingsError(f"border_mode: unknown value {value!r}; use one of {names}") from None


@dataclass(frozen=True)
class CutoutSettings:
    """pytti's cutout settings. Each of ``gradient_accumulation_steps`` micro-batches gets
    ``cutouts // gradient_accumulation_steps`` cutouts per perceptor."""

    cutouts: int = 40
    cut_pow: float = 2.0
    cutout_border: float = 0.25
    border_mode: BorderMode = BorderMode.CLAMP
    gradient_accumulation_steps: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "border_mode", _border_mode(self.border_mode))
        steps = self.gradient_accumulation_steps
        if self.cutouts < 1 or steps < 1 or self.cutouts % steps:
            raise SettingsError(
                f"cutouts ({self.cutouts}) must be a positive multiple of gradient_accumulation_steps ({steps})"
            )

    @property
    def per_batch(self) -> int:
        """Cutouts per perceptor in one micro-batch."""
        return self.cutouts // self.gradient_accumulation_steps


@dataclass(frozen=True)
class CutoutParams:
    """Where the cutouts of one draw lie, as fractions of the (unpadded) image.

    ``offsets[:, 0]`` / ``sizes[:, 0]`` are fractions of the width, ``[:, 1]`` of the height; the crops are
    square in pixels, so the two size fractions differ on non-square images. ``border`` is the
    ``cutout_border`` the draw used: how far (as a fraction of each side) a cutout may reach past the edge.

    Shape: offsets [N, 2], sizes [N, 2].
    """

    offsets: torch.Tensor
    sizes: torch.Tensor
    border: float

    def __len__(self) -> int:
        return self.offsets.shape[0]

    @property
    def centers(self) -> torch.Tensor:
        """Cutout centres as image fractions. Shape: [N, 2]."""
        return self.offsets + self.sizes / 2

    def chunk(self, count: int) -> tuple[CutoutParams, ...]:
        """Split into ``count`` consecutive micro-batches (for gradient accumulation)."""
        offsets = self.offsets.chunk(count)
        sizes = self.sizes.chunk(count)
        return tuple(CutoutParams(o, s, self.border) for o, s in zip(offsets, sizes))


def sample_cutouts(
    generator: torch.Generator,
    count: int,
    *,
    cut_pow: float,
    cutout_border: float,
    border_mode: BorderMode | str,
    device: torch.device,
    image_hw: tuple[int, int],
    cut_size: int,
) -> CutoutParams:
    """Draw ``count`` cutouts with pytti's distribution for an image of ``image_hw`` = (H, W) pixels.

    The side is ``min(H, W) · g^cut_pow`` with ``g ~ Normal(0.8, 0.3)`` clipped to ``[cut_size/min(H,W), 1]``
    before the power (pytti quirk 13: crops smaller than ``cut_size`` occur). Offsets are uniform over the
    range extended by the border; in clamp mode they are then clamped into the image (so they pile up at the
    edges, as in pytti); in the other modes a cutout may overhang by at most ``min(border, size)``.
    Source: pytti-core ``Perceptor/cutouts/samplers.py`` (prompts-and-perceptors.md §4.3).
    """
    mode = _border_mode(border_mode)
    height, width = image_hw
    short = min(height, width)
    low = min(cut_size / short, 1.0)
    g = (normal(generator, (count,), device) * 0.3 + 0.8).clamp(low, 1.0)
    side = g.pow(cut_pow) * short
    sizes = torch.stack([side / width, side / height], dim=1)
    border = min(max(cutout_border, 0.0), 1.0)
    u = uniform(generator, (count, 2), device)
    if mode is BorderMode.CLAMP:
        offsets = (u * (1 - sizes + 2 * border) - border).clamp(min=0.0)
        offsets = torch.minimum(offsets, 1 - sizes)
    else:
        reach = sizes.clamp(max=border)
        offsets = u * (1 - sizes + 2 * reach) - reach
    return CutoutParams(offsets=offsets, sizes=sizes, border=border)


def _border_index(n: int, pad: int, mode: BorderMode, device: torch.device) -> torch.Tensor:
    """Source index for each of the ``n + 2·pad`` positions of a padded axis."""
    index = torch.arange(-pad, n + pad, device=device)
    if mode is BorderMode.WRAP:
        return index.remainder(n)
    if mode is BorderMode.MIRROR and n > 1:
        period = 2 * (n - 1)
        folded = index.remainder(period)
        return torch.where(folded >= n, period - folded, folded)
    return index.clamp(0, n - 1)


def pad_image(image: torch.Tensor, pad_x: int, pad_y: int, border_mode: BorderMode) -> torch.Tensor:
    """Pad every side by any amount (also more than the image side, unlike ``F.pad`` reflect/circular).

    Shape: [B, C, H, W] -> [B, C, H + 2·pad_y, W + 2·pad_x].
    """
    if border_mode is BorderMode.BLACK:
        return F.pad(image, (pad_x, pad_x, pad_y, pad_y))
    _, _, height, width = image.shape
    rows = _border_index(height, pad_y, border_mode, image.device)
    cols = _border_index(width, pad_x, border_mode, image.device)
    return image.index_select(2, rows).index_select(3, cols)


def _axis_weights(start: torch.Tensor, length: torch.Tensor, size: int, pixels: int) -> torch.Tensor:
    """``roi_align``'s sampling (aligned, ``sampling_ratio=-1``) along one axis as a matrix per box.

    Row ``i`` of box ``n`` averages ``ceil(length/size)`` bilinear samples spread evenly over output pixel
    ``i``'s bin; as in ``roi_align``, a sample beyond one pixel outside the axis counts as zero, one in
    ``[-1, 0]`` reads pixel 0 and one past the last pixel centre reads the last pixel.
    Shape: start [N], length [N] (pixels, aligned start) -> [N, size, pixels].
    """
    count = len(start)
    step = length / size
    grid = torch.ceil(step)
    samples = max(int(grid.max()), 1)
    bins = torch.arange(size, dtype=start.dtype)[None, :, None]
    taps = torch.arange(samples, dtype=start.dtype)[None, None, :]
    per_bin = grid.clamp(min=1)[:, None, None]
    position = start[:, None, None] + bins * step[:, None, None] + (taps + 0.5) * step[:, None, None] / per_bin
    counted = (taps < grid[:, None, None]) & (position >= -1) & (position <= pixels)
    position = position.clamp(0, pixels - 1)
    low = position.floor()
    fraction = position - low
    share = counted.to(start.dtype) / per_bin
    high = (low + 1).clamp(max=pixels - 1)
    weights = torch.zeros(count, size, pixels, dtype=start.dtype)
    weights.scatter_add_(2, low.long(), (1 - fraction) * share)
    return weights.scatter_add_(2, high.long(), fraction * share)


def _separable_cutouts(image: torch.Tensor, start: torch.Tensor, end: torch.Tensor, size: int) -> torch.Tensor:
    """``roi_align`` (aligned, ``sampling_ratio=-1``) as ``rows @ band @ columnsᵀ`` per box on a CPU.

    Each box reads only the band of rows and columns its samples touch, so the work follows its area.
    Shape: image [1, C, H, W], start/end [N, 2] (x, y pixels) -> [N, C, size, size].
    """
    _, _, height, width = image.shape
    start, end = start - 0.5, end - 0.5  # roi_align's aligned pixel centres
    columns = _axis_weights(start[:, 0], end[:, 0] - start[:, 0], size, width)
    rows = _axis_weights(start[:, 1], end[:, 1] - start[:, 1], size, height)
    first = start.floor().clamp(min=0).long().tolist()
    last = (end.floor() + 2).long().tolist()
    cutouts = []
    for n, ((x0, y0), (x1, y1)) in enumerate(zip(first, last)):
        band = image[0, :, y0:y1, x0:x1]
        cutouts.append(rows[n, :, y0:y1] @ (band @ columns[n, :, x0:x1].T))
    return torch.stack(cutouts)


def _roi_align_cutouts(image: torch.Tensor, start: torch.Tensor, end: torch.Tensor, size: int) -> torch.Tensor:
    """All boxes in one ``roi_align`` call (aligned, adaptive sampling); no host synchronisation.

    Shape: image [1, C, H, W], start/end [N, 2] (x, y pixels) -> [N, C, size, size].
    """
    boxes = torch.cat([torch.zeros_like(start[:, :1]), start, end], dim=1)
    return roi_align(image, boxes, size, spatial_scale=1.0, sampling_ratio=-1, aligned=True)


def apply_cutouts(
    image: torch.Tensor, params: CutoutParams, size: int, border_mode: BorderMode | str
) -> torch.Tensor:
    """Cut every box of ``params`` out of ``image`` and resize it to ``size``² (``roi_align``'s sampling).

    Differentiable with respect to ``image``; makes no host synchronisation off the CPU (``params`` may
    live on the CPU, where a CPU generator drew them).
    Shape: image [1, 3, H, W] -> [N, 3, size, size].
    """
    mode = _border_mode(border_mode)
    _, _, height, width = image.shape
    pad_x = pad_y = 0
    if mode is not BorderMode.CLAMP:
        pad_x = math.ceil(params.border * width) + 1
        pad_y = math.ceil(params.border * height) + 1
        image = pad_image(image, pad_x, pad_y, mode)
    scale = torch.tensor([width, height], device=image.device, dtype=image.dtype)
    shift = torch.tensor([pad_x, pad_y], device=image.device, dtype=image.dtype)
    offsets = params.offsets.to(image.device, image.dtype, non_blocking=True)
    sizes = params.sizes.to(image.device, image.dtype, non_blocking=True)
    start = offsets * scale + shift
    end = start + sizes * scale
    cut = _separable_cutouts if image.device.type == "cpu" else _roi_align_cutouts
    return cut(image, start, end, size)
