"""pytti's weight-and-stop rule shared by every loss (BaseLossClass, image-models.md §7.1)."""

from __future__ import annotations

import torch

from dreamloom.images.grad_tricks import replace_grad


def apply_weight(raw: torch.Tensor, weight: float, stop: float) -> torch.Tensor:
    """Weighted loss whose value is ``weight · raw`` and whose gradient stops below ``stop``.

    The gradient is that of ``|w| · max(sign(w) · raw, stop)``: a negative weight maximises the raw loss
    until its signed value falls below ``stop``. Source: pytti-core ``Loss.forward``.

    Shape: raw [*] -> [*]
    """
    sign = 1.0 if weight >= 0 else -1.0
    signed = raw * sign
    floor = torch.as_tensor(stop, dtype=raw.dtype, device=raw.device)
    return abs(weight) * replace_grad(signed, torch.maximum(signed, floor))
