"""Time the engine's optimisation step against the perceptor-only floor (``python benchmarks/bench_step.py``).

For each configuration (random weights, nothing downloaded) it builds the render's run, warms
up, then alternates one step, one perceptor-only forward+backward on the same number of cutouts at the
same precision (the floor) and the stock reference (unmodified open_clip, fp32), so all three see the same
machine noise. It prints the median step, the median floor, their ratio, the median split of a step by
phase and the peak memory: resident set size on the CPU (each configuration runs in its own process so its
peak is its own), allocated device memory on CUDA. A second table shows the distance to the hardware: the
step's matrix-product FLOPs, this machine's measured fp32 and bf16 throughput on those shapes, the
roofline (the products alone at that throughput, in the step's dtype), step/roofline, the stock reference
and the estimated speed-up over pytti-core, ``1.06 × stock / step``.

``--quick`` runs ViT-B/32 with 8 cutouts and the tiny ViT for a couple of minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from phase_timer import PHASES, PhaseTimer, instrument
from roofline import cpu_features, gemm_calls, gemm_roofline, gemm_throughput, stock_reference
from step_setup import CONFIGS, StepConfig, build_open_clip, build_step_run, perceptor_floor, perceptors_of

from dreamloom.engine.device import cpu_supports_bf16, resolve_device, resolve_precision
from dreamloom.settings.choices import Precision

#: pytti-core's step over the stock reference, measured once on one machine (6.6 s against 6.2 s).
PYTTI_OVER_STOCK = 1.06
QUICK = (CONFIGS["vit-256"].scaled(8), CONFIGS["tiny-64"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(function, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    function()
    _sync(device)
    return time.perf_counter() - start


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _hardware(run, index: int, device: torch.device) -> dict:
    """The step's matrix products: GFLOP, roofline seconds in its own dtypes, fp32/bf16 GFLOP/s on them."""
    calls = gemm_calls(lambda: run.loop.step(index))
    roofline_s, gflop = gemm_roofline(calls, device)
    native_bf16 = device.type != "cpu" or cpu_supports_bf16()
    return {
        "gflop": gflop,
        "roofline_s": roofline_s,
        "fp32_gflops": gemm_throughput(calls, torch.float32, device),
        "bf16_gflops": gemm_throughput(calls, torch.bfloat16, device) if native_bf16 else None,
    }


def measure(
    config: StepConfig, device: torch.device, precision: torch.dtype, steps: int, warmup: int, stock: bool = True
) -> dict:
    """Median step, floor, ratio, phase split, peak memory and hardware figures of one configuration."""
    run = build_step_run(config, device, precision)
    floor = perceptor_floor(perceptors_of(run), config.cutouts, torch.Generator().manual_seed(2))
    step_times, floor_times, splits = [], [], []
    timer = PhaseTimer(lambda: _sync(device))
    with instrument(run, timer) as timed_step:
        for index in range(warmup + steps):
            step_time = _timed(lambda: timed_step(index), device)
            split = timer.take()
            floor_time = _timed(floor, device)
            timer.take()  # the floor runs the wrapped perceptors too; drop its share
            if index >= warmup:
                step_times.append(step_time)
                floor_times.append(floor_time)
                splits.append(split)
    peak_mib = _peak_mib(device)  # before the stock models exist
    index = warmup + steps
    if device.type == "cuda":  # phase boundaries synchronise: time the headline steps unwrapped
        step_times = [_timed(lambda: run.loop.step(index + i), device) for i in range(steps)]
        index += steps
    step, floor_median = statistics.median(step_times), statistics.median(floor_times)
    hardware = _hardware(run, index, device)
    stock_s = pytti_speedup = float("nan")
    if stock:  # alternate the stock reference with more steps: the estimate compares same-noise medians
        stock_models = [build_open_clip(architecture, device)[0] for architecture in config.perceptors]
        reference = stock_reference(stock_models, config.cutouts, device)
        reference()
        pairs = [(_timed(reference, device), _timed(lambda: run.loop.step(index + 1 + i), device)) for i in range(steps)]
        stock_s = statistics.median(p[0] for p in pairs)
        pytti_speedup = PYTTI_OVER_STOCK * stock_s / statistics.median(p[1] for p in pairs)
    return {
        "config": config.name,
        "step_s": step,
        "floor_s": floor_median,
        "ratio": step / floor_median,
        "phases_s": {phase: statistics.median(s[phase] for s in splits) for phase in PHASES},
        "peak_mib": peak_mib,
        "steps": steps,
        **hardware,
        "step_over_roofline": step / hardware["roofline_s"],
        "floor_over_roofline": floor_median / hardware["roofline_s"],
        "stock_s": stock_s,
        "pytti_speedup": pytti_speedup,
    }


def _child(args: argparse.Namespace, config: str) -> dict:
    """Run one configuration in a fresh process (its own peak resident memory) and read its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--config", config, "--json",
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device,
               "--precision", args.precision, "--threads", str(args.threads)]
    command += [] if args.stock else ["--no-stock"]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _figure(value: float | None, digits: int) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def print_hardware(results: list[dict], device: torch.device) -> None:
    """The distance to the hardware: GEMM work, throughput, roofline, stock reference, speed-up estimate."""
    if device.type == "cpu":
        print(f"CPU: {cpu_features()}; native bf16 matrix instructions: {cpu_supports_bf16()}")
    columns = ("GEMM GFLOP", "fp32 GFLOP/s", "bf16 GFLOP/s", "roofline", "step/roofline", "floor/roofline",
               "stock", f"{PYTTI_OVER_STOCK}×stock/step")
    print(f"{'config':<16}" + "".join(f"{c:>16}" for c in columns))
    for r in results:
        figures = (_figure(r["gflop"], 1), _figure(r["fp32_gflops"], 0), _figure(r["bf16_gflops"], 0),
                   _figure(r["roofline_s"], 3), _figure(r["step_over_roofline"], 2),
                   _figure(r["floor_over_roofline"], 2), _figure(r["stock_s"], 3), _figure(r["pytti_speedup"], 2))
        print(f"{r['config']:<16}" + "".join(f"{f:>16}" for f in figures))


def print_table(results: list[dict], device: torch.device, precision: str, threads: int) -> None:
    memory = "peak device MiB" if device.type == "cuda" else "peak RSS MiB"
    print(f"device {device}, precision {precision}, {threads} threads; medians in seconds")
    header = f"{'config':<16}{'step':>8}{'floor':>8}{'ratio':>7}" + "".join(f"{p:>15}" for p in PHASES)
    print(header + f"{memory:>16}")
    for r in results:
        phases = "".join(f"{r['phases_s'][p]:>15.3f}" for p in PHASES)
        print(f"{r['config']:<16}{r['step_s']:>8.3f}{r['floor_s']:>8.3f}{r['ratio']:>7.2f}{phases}{r['peak_mib']:>16.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="all", help=f"one of {', '.join(CONFIGS)}, or all")
    parser.add_argument("--cutouts", type=int, default=None, help="override the configuration's cutouts")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (medians are reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--precision", default="auto", choices=[p.value for p in Precision],
                        help="resolved exactly as render resolves the precision setting (default auto)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="ViT-B/32 at 8 cutouts and the tiny ViT, 3 steps")
    parser.add_argument("--no-stock", dest="stock", action="store_false",
                        help="skip the stock open_clip reference (and the speed-up estimate)")
    parser.add_argument("--json", action="store_true", help="print one JSON result line (one config only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(Precision(args.precision), device)
    if args.quick:
        args.steps, args.warmup = 3, 1
        results = [measure(config, device, precision, args.steps, args.warmup, args.stock) for config in QUICK]
    elif args.config == "all":
        results = [_child(args, name) for name in CONFIGS if name != "tiny-64"]
    else:
        config = CONFIGS[args.config]
        config = config.scaled(args.cutouts) if args.cutouts else config
        results = [measure(config, device, precision, args.steps, args.warmup, args.stock)]
    if args.json:
        print(json.dumps(results[0]))
    else:
        print_table(results, device, f"{args.precision} ({str(precision).removeprefix('torch.')})", args.threads)
        print_hardware(results, device)


if __name__ == "__main__":
    main()
