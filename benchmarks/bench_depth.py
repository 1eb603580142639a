"""What 3D mode costs per frame: the depth model, the reprojection and warp, and the depth loss per step.

Builds Depth Anything V2 Small's real architecture with random weights (nothing is downloaded; the cost of
a network does not depend on its weights) and times, at each picture size, the medians of:
``depth`` (one inference-mode depth call: resize, network at ≤ 518 px, resize back, the pixel map),
``camera`` (the reprojection and the warp of a 3-channel picture), and ``depth loss`` (the depth model with
gradients, forward and backward: the per-step cost of ``depth_stabilization_weight``).

    python benchmarks/bench_depth.py                 # sizes 128, 256, 512, 3 repeats
    python benchmarks/bench_depth.py --sizes 256 --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from dreamloom.animation.camera import CameraMotion, Warp3D
from dreamloom.animation.depth import DepthAnything, depth_in_pixels
from dreamloom.animation.depth_specs import get_depth_spec
from dreamloom.losses.depth import depth_loss
from dreamloom.settings.choices import InfillMode, SamplingMode


def median_seconds(action, repeats: int) -> float:
    action()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--model", default="depth-anything-v2-small")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import DepthAnythingForDepthEstimation

    spec = get_depth_spec(args.model)
    network = DepthAnythingForDepthEstimation(spec.transformers_config())
    model = DepthAnything(network, input_size=spec.input_size, patch_size=spec.patch_size, mean=spec.mean,
                          std=spec.std).eval().requires_grad_(False)
    print(f"{args.model}, random weights, {args.threads} threads, {platform.processor() or platform.machine()}")
    print(f"{'size':>9}  {'depth':>9}  {'camera':>9}  {'depth loss':>11}")
    for size in args.sizes:
        picture = torch.rand(1, 3, size, size)

        def depth(picture: torch.Tensor = picture) -> torch.Tensor:
            with torch.inference_mode():
                return depth_in_pixels(model(picture), 1.0, 10000.0)

        distances = depth().clone() * (2 / size)
        motion = CameraMotion.from_settings((1.0, 0.0, 10.0), (1.0, 0.0, 0.0, 0.01), field_of_view=60, output_height=size)
        warp = Warp3D(distances, motion, True, SamplingMode.BICUBIC, InfillMode.WRAP)
        target = 1 / distances

        def loss(picture: torch.Tensor = picture, target: torch.Tensor = target) -> None:
            moving = picture.clone().requires_grad_(True)
            depth_loss(model(moving), target).backward()

        def camera(picture: torch.Tensor = picture, warp: Warp3D = warp) -> None:
            warp(picture)

        timings = [median_seconds(depth, args.repeats), median_seconds(camera, args.repeats),
                   median_seconds(loss, args.repeats)]
        print(f"{size:>4}×{size:<4}  {timings[0]:>8.3f}s  {timings[1]:>8.3f}s  {timings[2]:>10.3f}s")


if __name__ == "__main__":
    main()
