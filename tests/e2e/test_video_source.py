"""A Video Source render with the bundled demo perceptor and DIS flow: one picture per source frame after the
stride, pictures that follow the video, and an mp4 that carries the source's sound."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from source_videos import moving_square

from dreamloom.output.run_frames import find_run_frames
from dreamloom.render import render
from dreamloom.settings.loading import load_settings


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_two_second_video_is_restyled_frame_by_frame_into_an_mp4_with_its_sound(tmp_path: Path):
    """24 source frames at 12 fps, stride 2: 12 output frames (the first is the pre-animation picture of video
    frame 0), each started from its video frame and pulled toward the previous output moved along DIS flow,
    at 6 fps: 2 seconds."""
    source = moving_square(tmp_path / "clip.mp4", 24)
    settings = load_settings({
        "perceptors": ["demo"], "ViTB32": False, "scenes": "a picture", "width": -1, "height": 32, "cutouts": 4, "seed": 3, "backups": 0,
        "display_every": 0, "animation_mode": "Video Source", "video_path": "clip.mp4", "optical_flow_model": "dis",
        "frame_stride": 2, "flow_stabilization_weight": "1", "direct_stabilization_weight": "1",
        "pre_animation_steps": 3, "steps_per_frame": 3, "save_every": 3, "steps_per_scene": 36, "frames_per_second": 12,
        "learning_rate": 0.02,
    })
    result = render(settings, progress=False)
    assert len(result.pictures) == 12
    pictures = [np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) for path in result.pictures]
    assert pictures[0].shape == (32, 32, 3)  # width -1: the video's square aspect
    with av.open(str(source)) as container:
        video = [np.asarray(frame.to_image().resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
                 for frame in container.decode(video=0)]
    for index, picture in enumerate(pictures):  # picture n shows video frame 2n, not its neighbours 6 apart
        own = np.abs(picture - video[2 * index]).mean()
        others = [np.abs(picture - video[2 * index + step]).mean() for step in (-6, 6) if 0 <= 2 * index + step < 24]
        assert own < min(others), index

    assert result.video == result.folder / "default.mp4"
    with av.open(str(result.video)) as container:
        stream, sound = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.average_rate == 6 and frames == 12
        assert float(stream.duration * stream.time_base) == pytest.approx(2.0, abs=1e-3)
        assert float(sound.duration * sound.time_base) == pytest.approx(2.0, abs=0.1)
    again = find_run_frames(result.folder)  # `dreamloom video` exports it the same way
    assert again.fps == 6 and again.audio == Path("clip.mp4") and again.audio_offset == 0
