"""Random draws from an explicit generator, made on the generator's device and then moved.

Drawing on the generator's own device keeps a seed reproducible whatever device the tensors live on. Large
draws for another device (cutout noise) come from a device generator seeded from ``generator`` instead, so
no big host-to-device copy happens; small ones are copied without blocking.
"""

from __future__ import annotations

import torch

__all__ = ["uniform", "normal"]

_LARGE = 1 << 16


def _moved(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    return values.to(device, non_blocking=True)


def uniform(generator: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) float32 draws. Shape: ``shape``."""
    return _moved(torch.rand(shape, generator=generator, device=generator.device), device)


def normal(generator: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Standard normal float32 draws. Shape: ``shape``."""
    device = torch.device(device)
    numel = 1
    for dim in shape:
        numel *= dim
    if device.type != generator.device.type and numel > _LARGE:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        local = torch.Generator(device=device).manual_seed(seed)
        return torch.randn(shape, generator=local, device=device)
    return _moved(torch.randn(shape, generator=generator, device=generator.device), device)
