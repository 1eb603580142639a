"""Render every bundled example and make the README's gallery: one picture per example and a timing table.

Usage (from the repository root, with dreamloom installed)::

    python tools/example_gallery.py                 # every example, into docs/images/examples/
    python tools/example_gallery.py flight pulse    # only these

A still example is shown by its final picture; an animation by five of its frames side by side, first to
last. Pictures are enlarged 2× with nearest-neighbour resampling so the small canvases stay crisp. The
table printed at the end (example, steps, pictures, seconds) is what docs/examples.md records; the time is
the whole render (model loading included) on the machine the script ran on, which it names.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from dreamloom.examples import example_names, example_overrides, example_path
from dreamloom.render import render
from dreamloom.settings.choices import AnimationMode
from dreamloom.settings.loading import load_settings

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "docs" / "images" / "examples"
STRIP_FRAMES = 5
ENLARGE = 2


def gallery_picture(pictures: list[Path], animated: bool) -> Image.Image:
    """The final picture of a still; ``STRIP_FRAMES`` evenly spaced frames of an animation, side by side."""
    if not animated:
        chosen = pictures[-1:]
    else:
        last = len(pictures) - 1
        chosen = [pictures[round(i * last / (STRIP_FRAMES - 1))] for i in range(STRIP_FRAMES)]
    frames = [Image.open(path).convert("RGB") for path in chosen]
    width, height = frames[0].size
    strip = Image.new("RGB", (width * len(frames), height))
    for index, frame in enumerate(frames):
        strip.paste(frame, (index * width, 0))
    return strip.resize((strip.width * ENLARGE, strip.height * ENLARGE), Image.NEAREST)


def cpu_name() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="examples to render (default: all)")
    args = parser.parse_args(argv)
    names = args.names or example_names()
    GALLERY.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            overrides = [*example_overrides(name), f"output_dir={scratch}/out", f"backup_dir={scratch}/backup"]
            settings = load_settings(example_path(name), overrides)
            started = time.perf_counter()
            result = render(settings, progress=False)
            seconds = time.perf_counter() - started
            animated = settings.animation_mode is not AnimationMode.OFF
            gallery_picture(result.pictures, animated).save(GALLERY / f"{name}.png")
            rows.append((name, result.pictures, seconds))
            print(f"{name}: {seconds:.0f} s", file=sys.stderr)
    print(f"Machine: {cpu_name()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, CPU.")
    print("| example | pictures | seconds |")
    print("|---|---|---|")
    for name, pictures, seconds in rows:
        print(f"| `{name}` | {len(pictures)} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
