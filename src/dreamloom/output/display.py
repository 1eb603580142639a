"""Showing progress: a concise log line, a preview image (inline in notebooks), loss graphs, peak memory."""

from __future__ import annotations

import logging
import math
import resource
import sys
from pathlib import Path

import torch
from PIL import Image

from dreamloom.output.files import save_png, write_atomically

log = logging.getLogger("dreamloom")


def in_notebook() -> bool:
    """True inside a Jupyter/IPython kernel, where previews are shown inline (a terminal IPython has no kernel)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and hasattr(shell, "kernel")


def clear_notebook() -> None:
    """``clear_every``: clear the cell's output; ``wait`` keeps the old output until new output replaces it."""
    from IPython.display import clear_output

    clear_output(wait=True)


def show_preview(image: Image.Image, scale: float, path: Path) -> None:
    """Display ``image`` at ``scale`` inline in a notebook, else write it to ``path`` (pytti's LANCZOS resize)."""
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    shown = image if scale == 1 else image.resize(size, Image.LANCZOS)
    if in_notebook():
        from IPython.display import display

        display(shown)
    else:
        save_png(shown, path)


def progress_line(
    done: int,
    total: int,
    scene: int,
    scenes: int,
    t: float,
    losses: dict[str, float],
    frames: tuple[int, int] | None = None,
) -> str:
    """One progress line; ``frames`` = (frame index, frame count) for animations (index −1: pre-animation)."""
    shown = ", ".join(f"{name} {value:.3f}" for name, value in losses.items() if not math.isnan(value))
    where = f"step {done}/{total} · scene {scene + 1}/{scenes}"
    if frames is not None:
        frame, count = frames
        where += " · pre-animation" if frame < 0 else f" · frame {frame + 1}/{count}"
    return f"{where} · t={t:.2f}s · {shown}"


def peak_memory(device: torch.device) -> str:
    """Real peak memory: device memory on CUDA/MPS, resident memory of the process on the CPU."""
    if device.type == "cuda":
        return f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
    if device.type == "mps":
        return f"MPS memory {torch.mps.driver_allocated_memory() / 2**20:.0f} MiB"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak_mib = peak / 2**20 if sys.platform == "darwin" else peak / 1024
    return f"peak resident memory {peak_mib:.0f} MiB"


def save_loss_graph(columns: list[str], rows: list[list[float]], path: Path) -> None:
    """Plot every loss column against the step into a PNG.

    A bare ``Figure`` (no pyplot) draws with Agg without switching matplotlib's global backend, which would
    break a notebook's inline plots.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5))
    axes = figure.subplots()
    for index, name in enumerate(columns):
        values = [row[index] for row in rows]
        if not all(math.isnan(v) for v in values):
            axes.plot(range(1, len(rows) + 1), values, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("raw loss")
    axes.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png"))
