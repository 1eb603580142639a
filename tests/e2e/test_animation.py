"""An animated render with the bundled demo perceptor: moving frames that follow the scene of their time, and
the video made of them."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dreamloom.render import render
from dreamloom.settings.loading import load_settings

from .test_follow_prompts import GREEN, RED, others, share_nearest


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_2d_animation_follows_its_scenes_frame_by_frame_and_becomes_a_video():
    settings = load_settings(dict(
        perceptors=["demo"], ViTB32=False, width=48, height=48, cutouts=16, cut_pow=1, seed=3, backups=0,
        scenes="red || green", steps_per_scene=150, learning_rate=0.05, display_every=0,
        animation_mode="2D", translate_x="1", rotate_2d="2", pre_animation_steps=0, steps_per_frame=25,
        save_every=25, frames_per_second=6,
    ))
    result = render(settings)
    assert len(result.pictures) == 12  # 300 steps, one picture per 25-step frame
    pictures = [np.asarray(Image.open(p).convert("RGB"), dtype=np.float64) / 255 for p in result.pictures]
    assert share_nearest(pictures[5], RED, others(RED)) > 0.6  # the end of the first scene's frames
    assert share_nearest(pictures[-1], GREEN, others(GREEN)) > 0.6  # the end of the second's
    assert share_nearest(pictures[-1], RED, others(RED)) < 0.1
    moved = [float(np.abs(a - b).mean()) for a, b in zip(pictures, pictures[1:])]
    assert min(moved) > 0  # every frame differs from the one before

    assert result.video == result.folder / "default.mp4"
    with av.open(str(result.video)) as container:
        stream = container.streams.video[0]
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert stream.average_rate == 6
        assert (stream.codec_context.width, stream.codec_context.height) == (48, 48)
        seconds = float(stream.duration * stream.time_base)
    assert len(decoded) == 12 and seconds == pytest.approx(2.0, abs=1e-3)
    last = decoded[-1].astype(np.float64) / 255
    assert np.abs(last - pictures[-1]).mean() < 0.06  # the video shows the frames, in order
