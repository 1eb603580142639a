"""Random draws from an explicit generator, made on the generator's device and then moved.

Drawing on the generator's own device keeps a seed reproducible whatever device the tensors live on; pass a
generator on the compute device to avoid the host-to-device copy.
"""

from __future__ import annotations

import torch

__all__ = ["uniform", "normal"]


def uniform(generator: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) float32 draws. Shape: ``shape``."""
    return torch.rand(shape, generator=generator, device=generator.device).to(device)


def normal(generator: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Standard normal float32 draws. Shape: ``shape``."""
    return torch.randn(shape, generator=generator, device=generator.device).to(device)
