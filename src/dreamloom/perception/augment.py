"""pytti's cutout augmentations and noise, drawn from an explicit generator and applied as one batch.

pytti ran kornia modules in sequence (prompts-and-perceptors.md §4.4): flip p0.3; affine ±30°, translate
0.1, p0.8; perspective 0.2, p0.4; colour jitter (saturation ±1 %, hue ±0.01·2π rad) p0.7; erasing
(area 0.1–0.4, aspect 0.3–3.33) p0.7; then noise ``U(0, 0.1)·N(0, 1)`` per cutout (§4.3 step 8).
Here flip, affine and perspective are composed into one homography per cutout and resampled once, with
border padding; saturation and hue share one HSV round trip (:func:`jitter_colour`, the same function as
kornia's ``adjust_saturation`` then ``adjust_hue``, at a third of the cost). Differences, on purpose: translation applies to both axes (pytti's kornia 0.6.2 only
translated vertically, quirk 11) and saturation is applied before hue instead of in a random order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from kornia.geometry.transform import get_perspective_transform

from dreamloom.draws import normal, uniform

__all__ = [
    "AugmentParams",
    "apply_augmentations",
    "apply_pixel_augmentations",
    "apply_warp",
    "augment",
    "jitter_colour",
    "sample_augmentations",
]

FLIP_P, AFFINE_P, PERSPECTIVE_P, JITTER_P, ERASE_P = 0.3, 0.8, 0.4, 0.7, 0.7
MAX_DEGREES, MAX_TRANSLATE, DISTORTION = 30.0, 0.1, 0.2
SATURATION, HUE = 0.01, 0.01
NOISE_FAC = 0.1


@dataclass(frozen=True)
class AugmentParams:
    """One draw of augmentations for N cutouts of side S.

    ``warp`` maps output to source points in normalised [-1, 1] coordinates (align_corners=False);
    ``erase`` is (x0, y0, x1, y1) as fractions of the side, empty where erasing is off; ``noise`` is already
    scaled by each cutout's noise factor.
    Shape: warp [N, 3, 3], saturation [N], hue [N] (radians), erase [N, 4], noise [N, 3, S, S].
    """

    warp: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor
    erase: torch.Tensor
    noise: torch.Tensor


def _chosen(generator: torch.Generator, count: int, p: float, device: torch.device) -> torch.Tensor:
    """Per-cutout Bernoulli(p) draw as a float 0/1 tensor. Shape: [N]."""
    return (uniform(generator, (count,), device) < p).to(torch.float32)


def _flip_matrices(on: torch.Tensor) -> torch.Tensor:
    """Horizontal flips (their own inverse). Shape: [N] -> [N, 3, 3]."""
    eye = torch.eye(3, dtype=on.dtype, device=on.device).repeat(on.shape[0], 1, 1)
    eye[:, 0, 0] = 1 - 2 * on
    return eye


def _affine_inverse(generator: torch.Generator, count: int, device: torch.device) -> torch.Tensor:
    """Inverse of rotation about the centre then translation, identity where not applied. Shape: [N, 3, 3]."""
    on = _chosen(generator, count, AFFINE_P, device)
    angle = (uniform(generator, (count,), device) * 2 - 1) * math.radians(MAX_DEGREES) * on
    shift = (uniform(generator, (count, 2), device) * 2 - 1) * MAX_TRANSLATE * 2 * on[:, None]
    cos, sin = angle.cos(), angle.sin()
    rot_t = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    inverse = torch.eye(3, dtype=torch.float32, device=device).repeat(count, 1, 1)
    inverse[:, :2, :2] = rot_t
    inverse[:, :2, 2] = -(rot_t @ shift[:, :, None])[:, :, 0]
    return inverse


def _perspective_inverse(generator: torch.Generator, count: int, device: torch.device) -> torch.Tensor:
    """Homography from corners pulled inward by up to ``DISTORTION`` back to the frame. Shape: [N, 3, 3]."""
    on = _chosen(generator, count, PERSPECTIVE_P, device)
    corners = torch.tensor([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=torch.float32, device=device)
    pull = uniform(generator, (count, 4, 2), device) * DISTORTION * on[:, None, None]
    moved = corners * (1 - pull)
    return get_perspective_transform(moved, corners.expand(count, 4, 2))


def _erase_boxes(generator: torch.Generator, count: int, device: torch.device) -> torch.Tensor:
    """Random-erasing rectangles (x0, y0, x1, y1), zero-area where not applied. Shape: [N, 4]."""
    on = _chosen(generator, count, ERASE_P, device)
    area = 0.1 + 0.3 * uniform(generator, (count,), device)
    wide = uniform(generator, (count,), device) < 0.5
    u = uniform(generator, (count,), device)
    ratio = torch.where(wide, 1 + u * (1 / 0.3 - 1), 0.3 + u * 0.7)
    height = (area * ratio).sqrt().clamp(max=1.0) * on
    width = (area / ratio).sqrt().clamp(max=1.0) * on
    corner = uniform(generator, (count, 2), device) * torch.stack([1 - width, 1 - height], -1)
    return torch.cat([corner, corner + torch.stack([width, height], -1)], dim=1)


def sample_augmentations(
    generator: torch.Generator, count: int, size: int, *, device: torch.device, dtype: torch.dtype
) -> AugmentParams:
    """Draw every random choice of one augmentation pass for ``count`` cutouts of side ``size``."""
    flip = _flip_matrices(_chosen(generator, count, FLIP_P, device))
    warp = flip @ _affine_inverse(generator, count, device) @ _perspective_inverse(generator, count, device)
    jitter = _chosen(generator, count, JITTER_P, device)
    saturation = 1 + (uniform(generator, (count,), device) * 2 - 1) * SATURATION * jitter
    hue = (uniform(generator, (count,), device) * 2 - 1) * HUE * 2 * math.pi * jitter
    erase = _erase_boxes(generator, count, device)
    scale = uniform(generator, (count, 1, 1, 1), device) * NOISE_FAC
    noise = normal(generator, (count, 3, size, size), device)
    return AugmentParams(
        warp=warp.to(dtype),
        saturation=saturation.to(dtype),
        hue=hue.to(dtype),
        erase=erase.to(dtype),
        noise=(noise * scale).to(dtype),
    )


def _pixel_centres(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Normalised coordinates of pixel centres (align_corners=False). Shape: [size]."""
    return (torch.arange(size, device=device, dtype=dtype) * 2 + 1) / size - 1


def _warp(cutouts: torch.Tensor, warp: torch.Tensor) -> torch.Tensor:
    """Resample each cutout through its homography. Shape: [N, 3, S, S] -> [N, 3, S, S]."""
    size = cutouts.shape[-1]
    c = _pixel_centres(size, cutouts.device, cutouts.dtype)
    ys, xs = torch.meshgrid(c, c, indexing="ij")
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)
    mapped = torch.einsum("nij,hwj->nhwi", warp, points)
    grid = mapped[..., :2] / mapped[..., 2:]
    return F.grid_sample(cutouts, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _erase(cutouts: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Zero each cutout inside its rectangle. Shape: [N, 3, S, S] -> [N, 3, S, S]."""
    size = cutouts.shape[-1]
    centres = (torch.arange(size, device=cutouts.device, dtype=cutouts.dtype) + 0.5) / size
    inside_x = (centres >= boxes[:, 0:1]) & (centres < boxes[:, 2:3])
    inside_y = (centres >= boxes[:, 1:2]) & (centres < boxes[:, 3:4])
    inside = inside_y[:, :, None] & inside_x[:, None, :]
    return cutouts * (~inside)[:, None].to(cutouts.dtype)


def _hsv_shape(sixths: torch.Tensor) -> torch.Tensor:
    """Per channel, how far below V a unit of chroma puts it at hue ``sixths`` (6·h/2π, any real):
    ``clamp(min(k, 4 − k), 0, 1)``, ``k = (n + sixths) mod 6``, n = 5, 3, 1 for R, G, B.

    Computed as ``clamp(2 − |k − 2|, 0, 1)``, the same values and gradients (at ``k = 2`` both derivatives
    are 0) with half the backward work of ``minimum``.
    Shape: [N, 1, S, S] -> [N, 3, S, S].
    """
    channel = torch.tensor([5.0, 3.0, 1.0], device=sixths.device, dtype=sixths.dtype)[None, :, None, None]
    k = (channel + sixths).remainder(6)
    return (2 - (k - 2).abs()).clamp(0, 1)


def jitter_colour(rgb: torch.Tensor, saturation: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """Scale the HSV saturation by ``saturation`` (clamped to [0, 1]), then turn the hue by ``hue`` radians.

    The values equal kornia ``adjust_hue(adjust_saturation(rgb, saturation), hue)`` (up to rounding and
    kornia's 1e-8 guard in the saturation's denominator) with
    one RGB→HSV→RGB trip instead of two: the hue comes from the channel holding the maximum (kornia's
    ``rgb_to_hsv``: ``2k + (next − previous)/chroma`` sixths for brightest channel k) and the way back is
    ``v − chroma·shape(h)``. Written as
    ``rgb + chroma·shape(h) − new_chroma·shape(h')`` (the first two terms are the identity), so the
    gradients equal kornia's wherever the function is differentiable and, where channels tie (greys,
    clipped colours), stay the identity's at neutral settings instead of going to the first channel.
    Shape: rgb [N, 3, S, S], saturation [N], hue [N] -> [N, 3, S, S].
    """
    value, brightest = rgb.max(dim=1, keepdim=True)
    chroma = value - rgb.amin(dim=1, keepdim=True)
    safe = chroma + (chroma == 0).to(chroma.dtype)  # 1 for greys, whose hue numerator is exactly 0
    ahead = rgb.gather(1, (brightest + 1) % 3)  # the channel after the brightest (R→G→B→R)
    behind = rgb.gather(1, (brightest + 2) % 3)
    sixths = (ahead - behind) / safe + 2 * brightest
    turned = sixths + (hue * (3 / math.pi))[:, None, None, None]
    scaled = chroma * saturation[:, None, None, None]
    new_chroma = torch.where(scaled <= value, scaled, value)  # v·clamp(s·factor, 0, 1); ties keep `scaled`
    return rgb + chroma * _hsv_shape(sixths) - new_chroma * _hsv_shape(turned)


def _jitter_where_drawn(cutouts: torch.Tensor, saturation: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """:func:`jitter_colour` on the cutouts whose draw changes them; the others (about 30 %: pytti's p 0.7)
    pass through untouched, which is what the jitter computes at neutral settings, value and gradient.

    Shape: [N, 3, S, S], saturation [N], hue [N] -> [N, 3, S, S].
    """
    drawn = ((saturation != 1) | (hue != 0)).nonzero()[:, 0]
    if len(drawn) == len(cutouts):
        return jitter_colour(cutouts, saturation, hue)
    if len(drawn) == 0:
        return cutouts
    jittered = jitter_colour(cutouts.index_select(0, drawn), saturation[drawn], hue[drawn])
    return cutouts.index_copy(0, drawn, jittered)


def apply_warp(cutouts: torch.Tensor, params: AugmentParams) -> torch.Tensor:
    """The drawn flip, affine and perspective as one resampling. Shape: [N, 3, S, S] -> [N, 3, S, S]."""
    return _warp(cutouts, params.warp.to(cutouts.dtype))


def apply_pixel_augmentations(cutouts: torch.Tensor, params: AugmentParams) -> torch.Tensor:
    """The drawn saturation, hue, erasing and noise (not clamped). Shape: [N, 3, S, S] -> [N, 3, S, S]."""
    dtype = cutouts.dtype
    out = _jitter_where_drawn(cutouts, params.saturation.to(dtype), params.hue.to(dtype))
    out = _erase(out, params.erase.to(dtype))
    return out + params.noise.to(dtype)


def apply_augmentations(cutouts: torch.Tensor, params: AugmentParams) -> torch.Tensor:
    """Apply one drawn augmentation pass: warp, saturation, hue, erasing, then noise (not clamped).

    Shape: [N, 3, S, S] -> [N, 3, S, S].
    """
    return apply_pixel_augmentations(apply_warp(cutouts, params), params)


def augment(cutouts: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Draw and apply pytti's augmentations and noise. Shape: [N, 3, S, S] -> [N, 3, S, S]."""
    params = sample_augmentations(
        generator, cutouts.shape[0], cutouts.shape[-1], device=cutouts.device, dtype=cutouts.dtype
    )
    return apply_augmentations(cutouts, params)
