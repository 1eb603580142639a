"""Time the engine's optimisation step against the perceptor-only floor (``python benchmarks/bench_step.py``).

For each configuration (random weights, nothing downloaded) it builds the render's run, warms
up, then alternates one step and one perceptor-only forward+backward on the same number of cutouts at the
same precision, so both see the same machine noise. It prints the median step, the median floor, their
ratio, the median split of a step by phase and the peak memory: resident set size on the CPU (each
configuration runs in its own process so its peak is its own), allocated device memory on CUDA.

``--quick`` runs ViT-B/32 with 8 cutouts and the tiny ViT for a couple of minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from phase_timer import PHASES, PhaseTimer, instrument
from step_setup import CONFIGS, StepConfig, build_step_run, perceptor_floor, perceptors_of

from dreamloom.engine.device import resolve_device

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
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


def measure(config: StepConfig, device: torch.device, precision: torch.dtype, steps: int, warmup: int) -> dict:
    """Median step, floor, ratio, phase split and peak memory of one configuration."""
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
    if device.type == "cuda":  # phase boundaries synchronise: time the headline steps unwrapped
        step_times = [_timed(lambda: run.loop.step(warmup + steps + i), device) for i in range(steps)]
    step, floor_median = statistics.median(step_times), statistics.median(floor_times)
    return {
        "config": config.name,
        "step_s": step,
        "floor_s": floor_median,
        "ratio": step / floor_median,
        "phases_s": {phase: statistics.median(s[phase] for s in splits) for phase in PHASES},
        "peak_mib": _peak_mib(device),
        "steps": steps,
    }


def _child(args: argparse.Namespace, config: str) -> dict:
    """Run one configuration in a fresh process (its own peak resident memory) and read its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--config", config, "--json",
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device,
               "--precision", args.precision, "--threads", str(args.threads)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--precision", default="fp32", choices=sorted(PRECISIONS))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="ViT-B/32 at 8 cutouts and the tiny ViT, 3 steps")
    parser.add_argument("--json", action="store_true", help="print one JSON result line (one config only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = PRECISIONS[args.precision]
    if args.quick:
        args.steps, args.warmup = 3, 1
        results = [measure(config, device, precision, args.steps, args.warmup) for config in QUICK]
    elif args.config == "all":
        results = [_child(args, name) for name in CONFIGS if name != "tiny-64"]
    else:
        config = CONFIGS[args.config]
        config = config.scaled(args.cutouts) if args.cutouts else config
        results = [measure(config, device, precision, args.steps, args.warmup)]
    if args.json:
        print(json.dumps(results[0]))
    else:
        print_table(results, device, args.precision, args.threads)


if __name__ == "__main__":
    main()
