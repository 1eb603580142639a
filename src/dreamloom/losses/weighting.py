"""pytti's weight-and-stop rule, shared by every loss: image losses and prompt losses alike.

Source: pytti-core ``Loss.forward`` and ``Prompt.forward`` (image-models.md §7.1, prompts-and-perceptors.md §3.1).
"""

from __future__ import annotations

import torch

__all__ = ["apply_weight"]


def apply_weight(
    raw: torch.Tensor, weight: torch.Tensor | float, stop: torch.Tensor | float
) -> torch.Tensor:
    """Weighted loss whose value is ``|w|·σ·raw`` and whose gradient is that of ``|w|·max(σ·raw, stop)``.

    ``σ`` is the sign of the weight, so a negative weight maximises the raw loss until its signed value
    falls below ``stop``. ``weight`` and ``stop`` may be tensors broadcastable to ``raw`` (per-cutout mask
    weights and stops). A float weight of 0 counts as positive; either way its loss is 0.

    Shape: raw [*], weight and stop broadcastable to [*] -> [*]
    """
    if isinstance(weight, torch.Tensor):
        sign: torch.Tensor | float = weight.sign()
    else:
        sign = 1.0 if weight >= 0 else -1.0
    signed = sign * raw
    floor = torch.as_tensor(stop, dtype=raw.dtype, device=raw.device)
    magnitude = abs(weight)
    value = magnitude * signed
    gradient_path = magnitude * torch.maximum(signed, floor)
    return gradient_path + (value - gradient_path).detach()
