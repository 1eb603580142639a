"""Every random draw of a render, taken from an explicit generator on its own device and then moved.

Drawing on the generator's device keeps a seed's numbers identical whatever device the tensors live on
(a render draws from a CPU generator, so the same seed gives the same picture on every machine). Large
normal draws for another device (cutout noise) come from a device generator seeded from ``generator``
instead, so no big host-to-device copy happens. Copies to an accelerator do not block; copies to the CPU
do, so a draw is never read before it has arrived.
"""

from __future__ import annotations

import math

import torch

__all__ = ["seeded_generator", "uniform", "uniform_like", "normal", "integers"]

_LARGE = 1 << 16
#: torch keeps a seed as an unsigned 64-bit number; ``torch.manual_seed`` wraps negative seeds into it.
SEED_MODULUS = 1 << 64


def seeded_generator(seed: int, offset: int = 0) -> torch.Generator:
    """A CPU generator seeded as ``torch.manual_seed(seed)`` seeds one, for any seed pytti accepts
    ([-2**63, 2**64)); ``offset`` picks a derived stream and wraps around like the seed."""
    return torch.Generator().manual_seed((seed + offset) % SEED_MODULUS)


def _moved(values: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    device = torch.device(device)
    return values.to(device, non_blocking=device.type != "cpu")


def uniform(
    generator: torch.Generator, shape: tuple[int, ...], device: torch.device | str, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """I.i.d. U[0, 1) draws in ``dtype``. Shape: ``shape``."""
    return _moved(torch.rand(shape, generator=generator, device=generator.device, dtype=dtype), device)


def uniform_like(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """U[0, 1) draws with the shape, dtype and device of ``like`` (random initial images). Shape: [*] -> [*]"""
    return uniform(generator, tuple(like.shape), like.device, like.dtype)


def normal(generator: torch.Generator, shape: tuple[int, ...], device: torch.device | str) -> torch.Tensor:
    """Standard normal float32 draws. Shape: ``shape``."""
    device = torch.device(device)
    if device.type != generator.device.type and math.prod(shape) > _LARGE:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
        local = torch.Generator(device=device).manual_seed(seed)
        return torch.randn(shape, generator=local, device=device)
    return _moved(torch.randn(shape, generator=generator, device=generator.device), device)


def integers(generator: torch.Generator, high: int, shape: tuple[int, ...], device: torch.device | str) -> torch.Tensor:
    """I.i.d. integers uniform in [0, high), int64. Shape: ``shape``."""
    return _moved(torch.randint(high, shape, generator=generator, device=generator.device), device)
