"""Random initial states drawn from an explicit generator, so runs and resumes are reproducible."""

from __future__ import annotations

import torch


def uniform_like(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """I.i.d. U[0, 1) values shaped like ``like``, drawn on the generator's device, then moved to ``like``.

    Drawing on the generator's own device keeps a seed's noise identical whatever device the model uses.

    Shape: [*] -> [*]
    """
    noise = torch.rand(like.shape, generator=generator, device=generator.device, dtype=like.dtype)
    return noise.to(like.device)
