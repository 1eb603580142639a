"""Step time stays flat over a long run (``python benchmarks/bench_flat.py``).

Runs the render's frame loop (``Run.run``) (loss history recording included) for ``--steps`` steps on a small
picture with a tiny random ViT, timing each step from one step report to the next, and compares the median
of the first 100 steps after warm-up with the median of the last 100. Growing per-step costs (a history
that grows, host-side lists, autograd graphs kept alive) show up as a ratio above 1.

The shared machine's load drifts over minutes, so after every step the perceptor-only floor (a fixed
workload) is timed too; the ratio divided by the floor's own last/first ratio is the drift-corrected figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from step_setup import CONFIGS, build_step_run, perceptor_floor, perceptors_of

from dreamloom.engine.device import resolve_device, resolve_precision
from dreamloom.engine.frames import StepReport
from dreamloom.settings.choices import Precision

WINDOW = 100


def step_times(
    steps: int, warmup: int, device: torch.device, precision: torch.dtype
) -> tuple[list[float], list[float]]:
    """Seconds of each step after ``warmup`` (between step reports, the floor excluded) and of the floor
    timed right after it."""
    config = CONFIGS["tiny-64"]
    run = build_step_run(config, device, precision, total_steps=warmup + steps)
    floor = perceptor_floor(perceptors_of(run), config.cutouts, torch.Generator().manual_seed(2))
    steps_s: list[float] = []
    floors_s: list[float] = []
    mark = [time.perf_counter()]

    def now() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def timed(report: StepReport) -> None:
        ended = now()
        floor()
        if report.done > warmup:
            steps_s.append(ended - mark[0])
            floors_s.append(now() - ended)
        mark[0] = now()

    run.run(0, [timed])
    return steps_s, floors_s


def _windows(times: list[float]) -> str:
    return " ".join(f"{statistics.median(times[i : i + WINDOW]) * 1000:.1f}" for i in range(0, len(times), WINDOW))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="steps after warm-up")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--precision", default="auto", choices=[p.value for p in Precision],
                        help="resolved exactly as render resolves the precision setting (default auto)")
    args = parser.parse_args()
    if args.steps < 2 * WINDOW or args.warmup < 1:
        parser.error(f"--steps must be at least {2 * WINDOW} and --warmup at least 1")
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    precision = resolve_precision(Precision(args.precision), device)
    times, floors = step_times(args.steps, args.warmup, device, precision)
    first, last = statistics.median(times[:WINDOW]), statistics.median(times[-WINDOW:])
    drift = statistics.median(floors[-WINDOW:]) / statistics.median(floors[:WINDOW])
    print(f"device {device}, {str(precision).removeprefix('torch.')}, {args.threads} threads, {len(times)} timed "
          "steps of tiny-64 (64² image, 8 cutouts)")
    print(f"step medians per {WINDOW} steps (ms): {_windows(times)}")
    print(f"floor medians per {WINDOW} steps (ms): {_windows(floors)}")
    print(f"median of first {WINDOW}: {first * 1000:.2f} ms, of last {WINDOW}: {last * 1000:.2f} ms")
    print(f"last / first: {last / first:.3f}; floor drift {drift:.3f}; drift-corrected: {last / first / drift:.3f}")

if __name__ == "__main__":
    main()
