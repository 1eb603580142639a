"""Seconds per output frame of a Video Source run (``python benchmarks/bench_video_source.py``).

Builds the render's run (``build_run``) for a 256×256 Video Source animation of a synthetic moving-square
video, with the bundled demo perceptor, warping each frame along the flow (``reencode_each_frame: false``)
and with flow stabilization (``flow_long_term_samples: 1``: four flows per frame), once per flow model.
RAFT uses randomly initialised weights saved into a temporary cache (its speed does not depend on the
weights), so nothing is downloaded. Prints, per model, the median seconds per output frame and the part
of it spent in the Video Source hook (flows, consistency masks, warp). Runs alternate between the models.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from dreamloom.animation.optical_flow import raft_network
from dreamloom.engine.frames import StepReport
from dreamloom.engine.run import build_run
from dreamloom.engine.video_source import VideoSourceHook
from dreamloom.models.cache import file_path
from dreamloom.models.registry import get_entry
from dreamloom.plan import build_plan
from dreamloom.settings.choices import OpticalFlowModel
from dreamloom.settings.loading import load_settings

SIZE = 256


def write_video(path: Path, frames: int) -> None:
    """A textured square moving 3 px per frame over a textured floor, 12 fps."""
    rng = np.random.default_rng(0)
    square = np.kron(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), np.ones((12, 12, 1), dtype=np.uint8))
    floor = np.kron(rng.integers(0, 256, (4, 32, 3), dtype=np.uint8), np.ones((8, 8, 1), dtype=np.uint8))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            picture = np.full((SIZE, SIZE, 3), 110, dtype=np.uint8)
            picture[-32:] = floor
            left = 20 + 3 * index
            picture[80:176, left : left + 96] = square
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())


def save_random_raft(folder: Path) -> None:
    place = file_path(get_entry("raft-small").files[0], folder)
    place.parent.mkdir(parents=True, exist_ok=True)
    torch.save(raft_network(OpticalFlowModel.RAFT_SMALL).state_dict(), place)


def frame_seconds(folder: Path, flow: str, frames: int, steps_per_frame: int, cutouts: int) -> tuple[list[float], list[float]]:
    """(seconds of each output frame after the first, seconds of its Video Source hook)."""
    settings = load_settings({
        "perceptors": ["demo"], "ViTB32": False, "scenes": "a red square on a blue field", "width": SIZE,
        "height": SIZE, "cutouts": cutouts, "seed": 1, "display_every": 0, "save_every": 0, "backups": 0,
        "animation_mode": "Video Source", "video_path": str(folder / "clip.mp4"), "optical_flow_model": flow,
        "models_parent_dir": str(folder), "reencode_each_frame": False, "flow_stabilization_weight": "1",
        "direct_stabilization_weight": "1", "pre_animation_steps": steps_per_frame,
        "steps_per_frame": steps_per_frame, "steps_per_scene": (frames + 2) * steps_per_frame,
        "output_dir": str(folder / "out"),
    })
    run = build_run(build_plan(settings), torch.device("cpu"))
    (hook,) = [hook for hook in run.loop.hooks if isinstance(hook, VideoSourceHook)]
    hook_seconds: list[float] = []
    on_frame = hook.on_frame

    def timed(start, variables) -> None:  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        on_frame(start, variables)
        hook_seconds.append(time.perf_counter() - began)

    hook.on_frame = timed  # type: ignore[method-assign]
    boundaries: list[float] = []

    def mark(report: StepReport) -> None:
        if report.done % steps_per_frame == 0:
            boundaries.append(time.perf_counter())

    run.run(0, [mark])
    per_frame = [later - earlier for earlier, later in itertools.pairwise(boundaries[1:])]
    return per_frame, hook_seconds[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="timed output frames per run")
    parser.add_argument("--steps-per-frame", type=int, default=5)
    parser.add_argument("--cutouts", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per model")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    results: dict[str, tuple[list[float], list[float]]] = {"dis": ([], []), "raft-small": ([], [])}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_video(folder / "clip.mp4", arguments.frames + 4)
        save_random_raft(folder)
        for _ in range(arguments.rounds):
            for flow, (frames, hooks) in results.items():
                per_frame, hook = frame_seconds(folder, flow, arguments.frames, arguments.steps_per_frame, arguments.cutouts)
                frames += per_frame
                hooks += hook
    print(f"Video Source {SIZE}x{SIZE}, {arguments.steps_per_frame} steps/frame, {arguments.cutouts} cutouts, "
          f"demo perceptor, {arguments.threads} thread(s); medians over {arguments.rounds} alternating runs")
    for flow, (frames, hooks) in results.items():
        print(f"  {flow:<11} {statistics.median(frames):7.2f} s per output frame, "
              f"of which {statistics.median(hooks):6.2f} s in the Video Source hook (4 flows, masks, warp)")


if __name__ == "__main__":
    main()
