"""Depth of a picture for ``animation_mode: 3D``: one calling convention for every depth model, and the
map from relative depth to pytti's ``near_plane``/``far_plane`` pixel units.

A :class:`DepthEstimator` maps pictures ``[N, 3, H, W]`` in [0, 1] to *relative nearness* ``[N, 1, H, W]``:
larger is nearer, known only up to scale and shift (Depth Anything predicts affine-invariant inverse
depth). :func:`depth_in_pixels` turns it into distances in output pixels with a documented scale, and
:func:`depth_statistics` gives the expression variables ``r``, ``R`` and ``mu``.

Scale (docs/animation.md): pytti's AdaBins gave metres in [1 mm, 10 m] and pytti mapped them linearly onto
``[near_plane, far_plane]``. Relative depth has no metres, so dreamloom stretches each frame's nearness so
that its nearest point lies at 1 m and its farthest at 10 m (interpolating inverse depth), then applies
pytti's linear map. A picture without depth (``depth_model: flat``, or a map with no contrast) is a plane at
mid-depth, ``(near_plane + far_plane) / 2``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: The metric range pytti's AdaBins depth was clipped to, mapped linearly onto [near_plane, far_plane].
PYTTI_METRES = (1e-3, 10.0)
#: Where dreamloom puts a frame's nearest and farthest points, in pytti's metres.
FRAME_METRES = (1.0, 10.0)
_NO_CONTRAST = 1e-6


class DepthEstimator(nn.Module):
    """Relative nearness of pictures (larger is nearer, affine-invariant); differentiable in the picture.

    Shape: picture [N, 3, H, W] in [0, 1] -> [N, 1, H, W]
    """

    #: False for models that see no depth at all (``flat``): a depth loss has nothing to compare then.
    sees_depth: bool = True


class FlatDepth(DepthEstimator):
    """``depth_model: flat``: no weights, no depth: every pixel equally near (a plane at mid-depth)."""

    sees_depth = False

    def forward(self, picture: torch.Tensor) -> torch.Tensor:
        return picture.new_zeros((picture.shape[0], 1, *picture.shape[-2:]))


def network_size(height: int, width: int, input_size: int, patch: int) -> tuple[int, int]:
    """The size the network sees: the picture's aspect, longer side at most ``input_size``, both sides
    multiples of ``patch`` (at least one patch)."""
    longest = min(input_size, math.ceil(max(height, width) / patch) * patch)
    scale = longest / max(height, width)
    return tuple(max(patch, round(side * scale / patch) * patch) for side in (height, width))  # type: ignore[return-value]


class DepthAnything(DepthEstimator):
    """A transformers ``DepthAnythingForDepthEstimation`` behind the :class:`DepthEstimator` convention.

    The picture is resized (bilinear) to :func:`network_size`, normalised with the weights' mean and std;
    the predicted relative inverse depth is resized back to the picture's size.
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        input_size: int,
        patch_size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
    ) -> None:
        super().__init__()
        self.network = network
        self.input_size = input_size
        self.patch_size = patch_size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, picture: torch.Tensor) -> torch.Tensor:
        height, width = picture.shape[-2:]
        size = network_size(height, width, self.input_size, self.patch_size)
        pixels = F.interpolate(picture, size=size, mode="bilinear", align_corners=False, antialias=True)
        pixels = (pixels - self.mean.to(picture.dtype)) / self.std.to(picture.dtype)
        predicted = self.network(pixel_values=pixels).predicted_depth[:, None]
        return F.interpolate(predicted, size=(height, width), mode="bilinear", align_corners=False)


def depth_in_pixels(nearness: torch.Tensor, near_plane: float, far_plane: float) -> torch.Tensor:
    """Distances in output pixels for relative ``nearness``, per picture (see the module's scale).

    Shape: [N, 1, H, W] -> [N, 1, H, W], values in [near_plane, far_plane]
    """
    lowest = nearness.amin(dim=(1, 2, 3), keepdim=True)
    highest = nearness.amax(dim=(1, 2, 3), keepdim=True)
    span = highest - lowest
    flat = span <= _NO_CONTRAST * torch.maximum(highest.abs(), lowest.abs()).clamp_min(1.0)
    unit = (nearness - lowest) / torch.where(flat, torch.ones_like(span), span)
    near_m, far_m = FRAME_METRES
    metres = 1 / (unit / near_m + (1 - unit) / far_m)
    low_m, high_m = PYTTI_METRES
    pixels = near_plane + (metres - low_m) / (high_m - low_m) * (far_plane - near_plane)
    return torch.where(flat, torch.full_like(pixels, (near_plane + far_plane) / 2), pixels)


def depth_statistics(depth: torch.Tensor) -> dict[str, float]:
    """pytti's expression variables of a depth map in pixels: ``r`` nearest, ``R`` farthest and ``mu`` the
    average of mean and median (§3.3).

    Shape: depth [1, 1, H, W]
    """
    values = depth.detach().flatten().double()
    return {
        "r": float(values.min()),
        "R": float(values.max()),
        "mu": float((values.mean() + values.quantile(0.5)) / 2),
    }
