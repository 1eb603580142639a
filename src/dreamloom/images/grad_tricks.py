"""Autograd tricks shared by the image models: straight-through value swaps and a gradient-keeping clamp.

Both follow pytti-core's ``tensor_tools`` semantics (image-models.md §1.2, §1.3) so that optimisation
trajectories match pytti's.
"""

from __future__ import annotations

import torch


class _ReplaceGrad(torch.autograd.Function):
    """Forward the value of one tensor, backward the gradient into another."""

    @staticmethod
    def forward(ctx, value: torch.Tensor, grad_target: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.target_shape = grad_target.shape
        return value.clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[None, torch.Tensor]:  # type: ignore[override]
        return None, grad_output.sum_to_size(ctx.target_shape)


def replace_grad(value: torch.Tensor, grad_target: torch.Tensor) -> torch.Tensor:
    """The value of ``value`` with the derivative of ``grad_target`` (straight-through estimator).

    ``value`` receives no gradient; the incoming gradient is summed down to ``grad_target``'s shape, so
    ``grad_target`` may be broadcastable to ``value``. Source: pytti-core ``ReplaceGrad``.

    Shape: value [*], grad_target broadcastable to [*] -> [*]
    """
    return _ReplaceGrad.apply(value, grad_target)


class _ClampWithGrad(torch.autograd.Function):
    """Clamp whose gradient only stops where a descent step would push further out of range."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, low: float, high: float) -> torch.Tensor:  # type: ignore[override]
        ctx.low, ctx.high = low, high
        ctx.save_for_backward(x)
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        overshoot = x - x.clamp(ctx.low, ctx.high)
        passes = (grad_output * overshoot) >= 0
        return grad_output * passes, None, None


def clamp_with_grad(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp ``x`` to [low, high] but keep the gradient wherever descent moves ``x`` back toward the range.

    Inside the range the gradient passes unchanged; outside it passes only if
    ``grad · (x − clamp(x)) ≥ 0``. Unlike ``torch.clamp`` this lets out-of-range values recover.
    Source: pytti-core ``ClampWithGrad`` (image-models.md §1.3).

    Shape: [*] -> [*]
    """
    return _ClampWithGrad.apply(x, low, high)
