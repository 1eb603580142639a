"""Helpers for render tests: small configs, test pictures, and running the CLI in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from PIL import Image


def write_picture(path: Path, colours: list[tuple[int, int, int]], size: tuple[int, int] = (32, 32)) -> Path:
    """A picture split into vertical bands of ``colours`` (one colour = a flat field)."""
    width, height = size
    image = Image.new("RGB", size)
    band = width // len(colours)
    for index, colour in enumerate(colours):
        image.paste(colour, (index * band, 0, width if index == len(colours) - 1 else (index + 1) * band, height))
    image.save(path)
    return path


def write_config(folder: Path, **settings) -> Path:
    values = {"ViTB32": False, "width": 32, "height": 32, "display_every": 0, "seed": 5,
              "output_dir": str(folder / "images_out"), "backup_dir": str(folder / "backup")}
    values.update(settings)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def cli(*arguments: str, cwd: Path, **popen) -> subprocess.Popen:
    """Start ``dreamloom`` in a subprocess with one compute thread, so float results are reproducible."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "dreamloom.cli", "-q", *arguments], cwd=cwd, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def render_then_kill(folder: Path, backups: int = 2) -> None:
    """Render ``folder/config.yaml`` in a subprocess and SIGKILL it once ``backups`` backups exist."""
    process = cli("render", "config.yaml", cwd=folder)
    written = folder / "backup" / "default"
    deadline = time.monotonic() + 240
    while len(list(written.glob("*.bak"))) < backups:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no backups appeared"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def resume_and_render_reference(run_cli, killed: Path, reference: Path) -> None:
    """Finish the killed render with --resume, and render the same config uninterrupted for comparison."""
    resumed = run_cli("render", "config.yaml", "--resume", cwd=killed)
    assert resumed.returncode == 0, resumed.stderr
    uninterrupted = run_cli("render", "config.yaml", cwd=reference)
    assert uninterrupted.returncode == 0, uninterrupted.stderr


@pytest.fixture
def run_cli():
    def run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
        process = cli(*arguments, cwd=cwd)
        out, err = process.communicate(timeout=300)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    return run
