"""Gradients checked against a central finite difference: the one derivation that does not use autograd.

Imported by test modules. The slope of a loss along a direction ``v`` is ``(L(x + h·v) − L(x − h·v)) / 2h``;
autograd's gradient ``g`` predicts it as ``⟨g, v⟩``. Along ``g`` itself the prediction is ``‖g‖``, the largest
signal a float32 loss can give, and a gradient scaled, negated or missing a term predicts the wrong slope.
Along ``g`` restricted to one region the prediction is that region's ``‖g‖²/‖g‖``, which a gradient
landing in the wrong place gets wrong.

Two implementations of one function are compared through :func:`value_and_input_gradient`: the upstream
gradient is a ramp, so a gradient sent to the wrong position or channel differs too.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


def slope(loss_of: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor, direction: torch.Tensor,
          step: float) -> float:
    """Central finite difference of ``loss_of`` at ``point`` along ``direction``."""
    with torch.no_grad():
        higher = float(loss_of(point.detach() + step * direction))
        lower = float(loss_of(point.detach() - step * direction))
    return (higher - lower) / (2 * step)


def assert_gradient_matches_slopes(loss_of: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor,
                                   gradient: torch.Tensor, *, step: float, rel: float,
                                   region: torch.Tensor | None = None) -> None:
    """``gradient`` predicts the finite-difference slope along itself and, if given, along itself in ``region``.

    ``region`` is a 0/1 tensor broadcastable to ``point``.
    """
    unit = gradient / gradient.norm()
    assert slope(loss_of, point, unit, step) == pytest.approx(float(gradient.norm()), rel=rel)
    if region is not None:
        part = unit * region
        predicted = float((gradient * part).sum())
        assert predicted > 0.05 * float(gradient.norm())  # the region carries a real share of the gradient
        assert slope(loss_of, point, part, step) == pytest.approx(predicted, rel=rel)


def value_and_input_gradient(
    function: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``function(inputs)`` and the gradient, with respect to ``inputs``, of its sum weighted by a ramp."""
    leaf = inputs.detach().clone().requires_grad_(True)
    out = function(leaf)
    ramp = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * ramp).sum().backward()
    assert leaf.grad is not None
    return out.detach(), leaf.grad
