"""Edge loss: the picture's contours should match a target's (pytti ``EdgeLoss``; animation-losses-outputs §6.4).

Used by ``edge_stabilization_weight``: the frame keeps the edges of the moved previous frame while its
colours are free to change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dreamloom.losses.direct import masked_mse

#: pytti's greyscale weights (ITU-R 601 luma, as ``EdgeLoss`` writes them).
GREY_WEIGHTS = (0.2989, 0.587, 0.114)
#: Sobel kernels divided by 8, applied as cross-correlations (x: left minus right, y: top minus bottom).
SOBEL_X = ((1.0, 0.0, -1.0), (2.0, 0.0, -2.0), (1.0, 0.0, -1.0))
SOBEL_Y = ((1.0, 2.0, 1.0), (0.0, 0.0, 0.0), (-1.0, -2.0, -1.0))


def greyscale(image: torch.Tensor) -> torch.Tensor:
    """pytti's grey level ``0.2989 R + 0.587 G + 0.114 B``.

    Shape: [B, 3, H, W] -> [B, 1, H, W]
    """
    weights = torch.tensor(GREY_WEIGHTS, device=image.device, dtype=image.dtype)
    return torch.einsum("bchw,c->bhw", image, weights)[:, None]


def edge_maps(image: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel responses of the grey picture, zero-padded to keep the size, stacked on
    the batch axis as pytti stacks them (x responses first).

    Shape: [B, 3, H, W] -> [2B, 1, H, W]
    """
    kernels = torch.tensor([SOBEL_X, SOBEL_Y], device=image.device, dtype=image.dtype)[:, None] / 8
    responses = F.conv2d(greyscale(image), kernels, padding=1)
    return torch.cat([responses[:, :1], responses[:, 1:]], dim=0)


def edge_loss(image: torch.Tensor, target_edges: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """pytti's EdgeLoss raw value: masked MSE between the picture's edge maps and the target's, the mean over
    all elements of both maps.

    ``target_edges`` is :func:`edge_maps` of the target, computed once per target.
    Shape: image [1, 3, H, W], target_edges [2, 1, H, W], mask [1, 1, h, w] or None -> []
    """
    return masked_mse(edge_maps(image), target_edges, mask)
