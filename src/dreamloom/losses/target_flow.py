"""3D flow stabilization: the optical flow from the pre-warp picture to the current one should be the
camera's flow (pytti's ``TargetFlowLoss``, animation-losses-outputs §6.8).

pytti divided the squared error by the target's mean squared magnitude, which is infinite or NaN when the
camera does not move (or ``lock_camera`` removed a uniform motion). Here the divisor is at least one square
pixel: below one pixel of motion the loss is the plain mean squared error in pixels².
"""

from __future__ import annotations

import torch

from dreamloom.losses.direct import masked_mse

#: Smallest divisor, in pixels²: the mean squared magnitude of a one-pixel flow.
MIN_FLOW_MAGNITUDE = 1.0


def target_flow_loss(flow: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Masked MSE between ``flow`` and the ``target`` flow over the target's mean squared magnitude.

    Both are in pixels, channel 0 = x (right), channel 1 = y (down).
    Shape: flow [1, 2, H, W], target [1, 2, H, W], mask [1, 1, h, w] or None -> []
    """
    magnitude = target.square().sum(dim=1).mean().clamp_min(MIN_FLOW_MAGNITUDE)
    return masked_mse(flow, target, mask) / magnitude
