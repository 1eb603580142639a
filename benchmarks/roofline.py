"""How far a perceptor pass is from the machine's matrix throughput: the benchmarks' hardware figures.

``gemm_calls`` runs a workload once and records every matrix product it makes (``mm``, ``addmm``, ``bmm``,
forward and backward) with its shape and dtype; ``gemm_roofline`` times each distinct product on fresh
contiguous operands (the fastest of a few tries) and sums ``calls × time``: the seconds the workload would take if it did nothing but
its matrix products at the throughput this machine reaches on those very shapes. ``stock_reference``
times unmodified open_clip models (no dreamloom fast paths) in fp32, the stand-in for pytti-core's
perceptor pass. Shared by ``bench_step.py``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["GemmShape", "cpu_features", "gemm_calls", "gemm_roofline", "gemm_throughput", "stock_reference"]

_PRODUCTS = {
    torch.ops.aten.mm.default: "mm",
    torch.ops.aten.addmm.default: "addmm",
    torch.ops.aten.bmm.default: "bmm",
}


@dataclass(frozen=True)
class GemmShape:
    """One matrix product: ``batch`` products of [m, k] @ [k, n] in ``dtype``."""

    batch: int
    m: int
    k: int
    n: int
    dtype: torch.dtype

    @property
    def flops(self) -> int:
        return 2 * self.batch * self.m * self.k * self.n


class _RecordProducts(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[GemmShape] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        name = _PRODUCTS.get(func)
        if name is not None:
            left, right = (args[1], args[2]) if name == "addmm" else (args[0], args[1])
            batch = left.shape[0] if name == "bmm" else 1
            m, k = left.shape[-2:]
            self.calls[GemmShape(batch, m, k, right.shape[-1], left.dtype)] += 1
        return func(*args, **(kwargs or {}))


def gemm_calls(workload: Callable[[], None]) -> Counter[GemmShape]:
    """Every matrix product one run of ``workload`` makes, counted by shape and dtype."""
    with _RecordProducts() as recorder:
        workload()
    return recorder.calls


def _product_seconds(shape: GemmShape, device: torch.device, repeats: int) -> float:
    """The fastest of ``repeats`` timings of one product: the machine's best, not its noise."""
    left = torch.randn(shape.batch, shape.m, shape.k, device=device).to(shape.dtype)
    right = torch.randn(shape.batch, shape.k, shape.n, device=device).to(shape.dtype)
    product = torch.bmm if shape.batch > 1 else (lambda a, b: torch.mm(a[0], b[0]))
    product(left, right)
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        product(left, right)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def gemm_roofline(calls: Counter[GemmShape], device: torch.device, repeats: int = 5) -> tuple[float, float]:
    """(seconds, GFLOP) of the recorded products at this machine's measured throughput on each shape."""
    seconds = sum(count * _product_seconds(shape, device, repeats) for shape, count in calls.items())
    flops = sum(count * shape.flops for shape, count in calls.items())
    return seconds, flops / 1e9


def gemm_throughput(calls: Counter[GemmShape], dtype: torch.dtype, device: torch.device) -> float:
    """GFLOP/s this machine reaches on the recorded products' shapes, all computed in ``dtype``."""
    recast: Counter[GemmShape] = Counter()
    for shape, count in calls.items():
        recast[GemmShape(shape.batch, shape.m, shape.k, shape.n, dtype)] += count
    seconds, gflop = gemm_roofline(recast, device)
    return gflop / seconds


def cpu_features() -> str:
    """The vector and matrix instruction sets torch reports for this CPU."""
    checks = {
        "AVX2": torch.cpu._is_avx2_supported,
        "AVX512": torch.cpu._is_avx512_supported,
        "AVX512-VNNI": torch.cpu._is_vnni_supported,
        "AVX512-BF16": torch.cpu._is_avx512_bf16_supported,
        "AMX": torch.cpu._is_amx_tile_supported,
    }
    present = [name for name, check in checks.items() if check()]
    return f"{' '.join(present) or 'none of AVX2/AVX512/AMX'} (torch dispatches {torch.backends.cpu.get_cpu_capability()})"


def stock_reference(models: list[torch.nn.Module], cutouts: int, device: torch.device) -> Callable[[], None]:
    """Unmodified open_clip models, fp32: forward and input gradient on ``cutouts`` random images each.

    pytti-core runs the very same open_clip code; one session measured its step at 1.06× this reference.
    """
    inputs = []
    for model in models:
        model.eval().requires_grad_(False)
        size = model.visual.image_size
        side = int(size[0] if isinstance(size, (tuple, list)) else size)
        inputs.append(torch.rand(cutouts, 3, side, side, device=device))

    def run() -> None:
        for model, images in zip(models, inputs):
            leaf = images.clone().requires_grad_(True)
            model.encode_image(leaf).sum().backward()

    return run
