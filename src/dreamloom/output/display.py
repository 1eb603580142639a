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
    """True inside a Jupyter/IPython kernel, where previews are shown inline."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None and hasattr(get_ipython(), "kernel")


def show_preview(image: Image.Image, scale: float, path: Path, clear: bool) -> None:
    """Display ``image`` at ``scale`` inline in a notebook (clearing first if asked), else write it to ``path``."""
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    shown = image if scale == 1 else image.resize(size, Image.LANCZOS)
    if in_notebook():
        from IPython.display import clear_output, display

        if clear:
            clear_output(wait=True)
        display(shown)
    else:
        save_png(shown, path)


def progress_line(done: int, total: int, scene: int, scenes: int, t: float, losses: dict[str, float]) -> str:
    shown = ", ".join(f"{name} {value:.3f}" for name, value in losses.items() if not math.isnan(value))
    return f"step {done}/{total} · scene {scene + 1}/{scenes} · t={t:.2f}s · {shown}"


def peak_memory(device: torch.device) -> str:
    """Real peak memory: device memory on CUDA/MPS, resident memory of the process on the CPU."""
    if device.type == "cuda":
        return f"peak GPU memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB"
    if device.type == "mps":
        return f"MPS memory {torch.mps.driver_allocated_memory() / 2**20:.0f} MiB"
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f"peak resident memory {peak_kib / 1024:.0f} MiB"


def save_loss_graph(columns: list[str], rows: list[list[float]], path: Path) -> None:
    """Plot every loss column against the step into a PNG (matplotlib's Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(10, 5))
    for index, name in enumerate(columns):
        values = [row[index] for row in rows]
        if not all(math.isnan(v) for v in values):
            axes.plot(range(1, len(rows) + 1), values, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("raw loss")
    axes.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, format="png"))
    pyplot.close(figure)
