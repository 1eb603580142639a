"""Limited Palette and VQGAN renders through the whole engine with the demo perceptor."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dreamloom.images.vqgan.factory as vqgan_factory
from dreamloom.render import render
from dreamloom.images.vqgan import VQGAN, VQGANSpec
from dreamloom.settings.loading import load_settings

from .test_follow_prompts import RED, others, share_nearest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def settings(**values):
    base = dict(perceptors=["demo"], ViTB32=False, cutouts=16, cut_pow=1, display_every=0, seed=4, backups=0)
    base.update(values)
    return load_settings(base)


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def test_limited_palette_render_uses_few_colours_and_follows_the_prompt():
    result = render(settings(scenes="red", image_model="Limited Palette", palettes=3, palette_size=4, width=24,
                             height=24, pixel_size=2, steps_per_scene=150, save_every=0))
    picture = pixels(result.final_picture)
    assert picture.shape == (48, 48, 3)
    assert len(np.unique(picture.reshape(-1, 3), axis=0)) <= 3 * 4
    assert share_nearest(picture, RED, others(RED)) > 0.5


def test_target_palette_colours_are_all_the_render_uses(tmp_path: Path):
    # Four colours of distinct brightness: pytti's palette fit sorts each palette by brightness, so colours of
    # equal brightness (pure red and pure blue) can merge into one entry; see docs/image-models.md.
    colours = [(0, 0, 0), (30, 30, 200), (240, 140, 20), (245, 245, 245)]
    target = Image.new("RGB", (40, 40))
    for index, colour in enumerate(colours):
        target.paste(colour, ((index % 2) * 20, (index // 2) * 20, (index % 2) * 20 + 20, (index // 2) * 20 + 20))
    target.save(tmp_path / "four.png")
    result = render(settings(scenes="red", image_model="Limited Palette", palettes=1, palette_size=4, width=24,
                             height=24, steps_per_scene=60, save_every=0, target_palette="four.png",
                             show_palette=True))
    used = np.unique(pixels(result.final_picture).reshape(-1, 3), axis=0)
    wanted = np.array(colours, dtype=np.float64) / 255
    distances = np.linalg.norm(used[:, None, :] - wanted[None, :, :], axis=2).min(axis=1)
    assert len(used) <= 4
    assert distances.max() < 0.12
    swatch = pixels(result.folder / "default_palette.png")  # show_palette: one column, 4 colours of 16×32 px
    assert swatch.shape == (4 * 32, 16, 3)
    swatch_colours = np.unique(swatch.reshape(-1, 3), axis=0)
    assert np.linalg.norm(swatch_colours[:, None, :] - wanted[None, :, :], axis=2).min(axis=1).max() < 0.12


TINY_F16 = VQGANSpec(name="tiny_f16", n_embed=16, embed_dim=4, ch=8, ch_mult=(1, 1, 1, 1, 1), num_res_blocks=1,
                     attn_resolutions=(16,), resolution=256, z_channels=4, norm_groups=2)


def test_vqgan_render_with_a_small_random_network_lowers_its_prompt_loss(monkeypatch):
    def tiny(name: str, models_parent_dir: str, *, device: torch.device) -> VQGAN:
        torch.manual_seed(0)
        return VQGAN(TINY_F16).eval().to(device)

    monkeypatch.setattr(vqgan_factory, "load_vqgan", tiny)
    result = render(settings(scenes="red", image_model="VQGAN", vqgan_model="imagenet", width=64, height=64,
                             steps_per_scene=40, save_every=10, smoothing_weight=0))
    assert [p.name for p in result.pictures] == [f"default_{n}.png" for n in range(1, 5)]
    assert pixels(result.final_picture).shape == (64, 64, 3)
    with (result.folder / "default_losses.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    losses = [float(row["red"]) for row in rows]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
