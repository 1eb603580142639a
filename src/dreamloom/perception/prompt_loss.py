"""pytti's prompt loss: spherical distance, weight sign, stops and masks with a straight-through gradient.

Source: pytti-core ``Prompt.py`` (prompts-and-perceptors.md §3.1–§3.2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["spherical_distance", "prompt_loss"]


def spherical_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """pytti's ``2·arcsin(‖x̂ − ŷ‖/2)²`` = θ²/2 for the angle θ between x and y; broadcasts.

    Shape: [..., D] and [..., D] -> [...].
    """
    chord = (F.normalize(x, dim=-1) - F.normalize(y, dim=-1)).norm(dim=-1)
    return 2 * (chord / 2).clamp(max=1.0).arcsin().square()


def prompt_loss(
    distance: torch.Tensor,
    *,
    weight: float,
    stop: float,
    mask_stops: torch.Tensor | float = float("-inf"),
    mask_weights: torch.Tensor | float = 1.0,
    offset: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted loss and raw mean distance of one prompt over M cutouts (all perceptors).

    With ``w = mask_weights·weight``, ``σ = sign(w)``, ``x = σ·(d + offset)`` and
    ``stops = max(mask_stops + min(σ, 0), stop)``, the value is ``mean(|w|·x)`` and the gradient is that of
    ``mean(|w|·max(x, stops))``: a cutout pulls (or, for a negative weight, pushes) only while its signed
    distance is above its stop. Shape: distance [M] -> (scalar, scalar).
    """
    raw = distance + offset
    w = torch.as_tensor(mask_weights, dtype=raw.dtype, device=raw.device) * weight
    sign = w.sign()
    signed = sign * raw
    stops = torch.clamp(torch.as_tensor(mask_stops, dtype=raw.dtype, device=raw.device) + sign.clamp(max=0), min=stop)
    value = w.abs() * signed
    gradient_path = w.abs() * torch.maximum(signed, stops)
    loss = gradient_path + (value - gradient_path).detach()
    return loss.mean(), raw.mean().detach()
