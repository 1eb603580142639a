"""Moving a batch of pictures by an affine map: the warp of ``animation_mode: 2D`` (§2.3)."""

from __future__ import annotations

import dataclasses

import torch

from dreamloom.animation.motion2d import Motion2D, source_from_target
from dreamloom.animation.resample import sample_at
from dreamloom.settings.choices import InfillMode, SamplingMode


def pixel_grid(height: int, width: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Homogeneous pixel coordinates (x, y, 1) of every pixel centre.

    Shape: -> [H, W, 3]
    """
    ys = torch.arange(height, dtype=dtype, device=device)
    xs = torch.arange(width, dtype=dtype, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y, torch.ones_like(grid_x)], dim=-1)


def warp_affine(
    image: torch.Tensor, matrix: torch.Tensor, sampling: SamplingMode, infill: InfillMode
) -> torch.Tensor:
    """Resample ``image`` so that output pixel ``p`` shows the old picture at ``matrix·(p, 1)``.

    ``matrix`` is a :func:`source_from_target` map, shared by the batch or one per picture.
    Differentiable in the image and the matrix.

    Shape: image [N, C, H, W], matrix [2, 3] or [N, 2, 3] -> [N, C, H, W]
    """
    batch, _, height, width = image.shape
    grid = pixel_grid(height, width, dtype=image.dtype, device=image.device)
    points = torch.einsum("nij,hwj->nhwi", matrix.expand(batch, 2, 3), grid)
    return sample_at(image, points, sampling, infill)


@dataclasses.dataclass(frozen=True)
class Warp2D:
    """One frame's 2D motion as a picture-space warp, in pixels of whatever tensor it is applied to.

    This is what :meth:`ImageModel.warp_state` takes: each image model applies it to its own state.
    """

    motion: Motion2D
    sampling: SamplingMode
    infill: InfillMode

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Shape: [N, C, H, W] -> [N, C, H, W]"""
        height, width = image.shape[-2:]
        matrix = source_from_target(self.motion, height, width, dtype=image.dtype, device=image.device)
        return warp_affine(image, matrix, self.sampling, self.infill)
