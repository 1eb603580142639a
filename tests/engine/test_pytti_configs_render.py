"""pytti's configs render, not just load: the shipped-demo-shaped conf, and scenes that hold no prompt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from dreamloom.render import render
from dreamloom.settings.loading import load_settings

CORPUS = Path(__file__).parents[1] / "settings" / "pytti_configs"
TINY = ["perceptors=[demo]", "ViTB32=false", "width=12", "height=8", "pixel_size=1", "cutouts=2", "backups=0",
        "video_format=off"]


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_shipped_demo_conf_renders_with_the_demo_perceptor(tmp_path: Path):
    """Two scenes of 3 steps with 2D motion, frames of 2 steps; save_every follows steps_per_frame (steps 2, 4, 6)."""
    overrides = ["conf=demo.yaml", *TINY, "steps_per_scene=3", "pre_animation_steps=1", "steps_per_frame=2",
                 "interpolation_steps=1", f"output_dir={tmp_path / 'out'}"]
    settings = load_settings(None, overrides, cwd=CORPUS)
    assert (settings.seed, settings.save_every) == (-4854551145582748953, 2)
    result = render(settings)
    assert [path.name for path in result.pictures] == ["pytti_demo_1.png", "pytti_demo_2.png", "pytti_demo_3.png"]
    pixels = np.asarray(Image.open(result.final_picture).convert("RGB"))
    assert pixels.shape == (8, 12, 3)
    saved = yaml.safe_load((result.folder / "pytti_demo_settings.yaml").read_text())
    assert saved["seed"] == -4854551145582748953


@pytest.mark.parametrize("scenes", ["a cat ||   ", " "])
def test_a_scene_without_prompts_renders_its_steps_without_a_loss(tmp_path: Path, scenes: str):
    """``a cat ||   ``: the second scene has no prompt; pytti's tensorboard test renders ``scenes=" "``."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"scenes": scenes, "steps_per_scene": 2, "save_every": 0, "display_every": 0,
                                      "seed": 3, "output_dir": str(tmp_path / "out")}))
    result = render(load_settings(config, TINY))
    assert [path.name for path in result.pictures] == ["default_1.png"]
    assert np.isfinite(np.asarray(Image.open(result.final_picture), dtype=float)).all()
