"""pytti's prompt loss: spherical distance, weight sign, stops and masks with a straight-through gradient.

Source: pytti-core ``Prompt.py`` (prompts-and-perceptors.md §3.1–§3.2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dreamloom.losses.weighting import apply_weight

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

    With ``w = mask_weights·weight``, ``σ = sign(w)`` and ``stops = max(mask_stops + min(σ, 0), stop)``, this
    is :func:`~dreamloom.losses.weighting.apply_weight` of ``d + offset`` averaged over the cutouts: a cutout
    pulls (or, for a negative weight, pushes) only while its signed distance is above its stop.
    Shape: distance [M] -> (scalar, scalar).
    """
    raw = distance + offset
    w = torch.as_tensor(mask_weights, dtype=raw.dtype, device=raw.device) * weight
    mask_floor = torch.as_tensor(mask_stops, dtype=raw.dtype, device=raw.device) + w.sign().clamp(max=0)
    loss = apply_weight(raw, w, torch.clamp(mask_floor, min=stop))
    return loss.mean(), raw.mean().detach()
