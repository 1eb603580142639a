"""The mask-video reader: frame n as greyscale, read forward, held at the last frame; bad videos are one error."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch

from dreamloom.engine.frames import FrameStart
from dreamloom.engine.video_masks import VideoLossMask, VideoMasksHook
from dreamloom.errors import InputFileError
from dreamloom.video_frames import VideoFrames, has_sound

from mask_videos import black_white_half, write_mask_video
from source_videos import moving_square


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_mask_video(tmp_path / "mask.mp4", black_white_half())


def half() -> torch.Tensor:
    expected = torch.zeros(16, 16)
    expected[:, :8] = 1.0
    return expected


def test_frame_n_is_the_videos_frame_n_in_grey_levels(video: Path):
    reader = VideoFrames(str(video), "direct_stabilization_weight")
    assert reader.frame(0).shape == (16, 16)
    assert torch.equal(reader.frame(0), torch.zeros(16, 16))
    assert torch.equal(reader.frame(1), torch.ones(16, 16))
    assert torch.equal(reader.frame(2), half())


def test_grey_is_pils_luma_of_the_rgb_frame(tmp_path: Path):
    """A pure red video reads as PIL's L of red: 0.299·255 → 76."""
    path = tmp_path / "red.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=12)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        stream.options = {"crf": "0"}
        red = np.zeros((16, 16, 3), dtype=np.uint8)
        red[..., 0] = 255
        container.mux(stream.encode(av.VideoFrame.from_ndarray(red, format="rgb24")))
        container.mux(stream.encode())
    assert torch.allclose(VideoFrames(str(path), "mask").frame(0), torch.full((16, 16), 76 / 255))


def test_frames_past_the_end_are_the_last_frame(video: Path):
    reader = VideoFrames(str(video), "mask")
    assert torch.equal(reader.frame(3), half())
    assert torch.equal(reader.frame(40), half())


def test_reading_forward_never_reopens_and_going_back_reopens_once(video: Path, monkeypatch):
    reader = VideoFrames(str(video), "mask")
    opened: list[int] = []
    restart = reader._restart
    monkeypatch.setattr(reader, "_restart", lambda: (opened.append(1), restart())[1])
    frames = [reader.frame(index).clone() for index in (0, 1, 1, 2, 5)]
    assert opened == []
    assert torch.equal(frames[1], frames[2]) and torch.equal(frames[3], frames[4])
    assert torch.equal(reader.frame(1), torch.ones(16, 16))  # a resumed run may ask for an earlier frame
    assert opened == [1]


def test_a_missing_video_names_the_setting_and_the_file(tmp_path: Path):
    with pytest.raises(InputFileError, match=r"^edge_stabilization_weight: the file .*nowhere\.mp4 does not exist"):
        VideoFrames(str(tmp_path / "nowhere.mp4"), "edge_stabilization_weight")


@pytest.mark.parametrize("content", [b"", b"not a video at all"])
def test_a_corrupt_or_empty_file_names_the_setting_and_the_file(tmp_path: Path, content: bytes):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=r"^prompt 'red:1_\[bad\.mp4\]': the video .*bad\.mp4 cannot be opened"):
        VideoFrames(str(path), "prompt 'red:1_[bad.mp4]'")


def test_a_video_without_pictures_is_an_error(tmp_path: Path):
    """A file with an empty video stream (sound only) has no frame to show."""
    path = tmp_path / "silent.mkv"
    with av.open(str(path), "w") as container:
        picture = container.add_stream("libx264", rate=12)
        picture.width, picture.height, picture.pix_fmt = 16, 16, "yuv420p"
        sound = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        container.mux(sound.encode(frame))
        container.mux(sound.encode())
    with pytest.raises(InputFileError, match=r"^mask: the video .*silent\.mkv has no frames"):
        VideoFrames(str(path), "mask")


def grey_levels(path: Path, count: int = 8) -> Path:
    """A 12 fps mask video whose frame i is grey level 20·i."""
    return write_mask_video(path, [np.full((16, 16), 20 * index, dtype=np.uint8) for index in range(count)])


def level(frame: torch.Tensor) -> int:
    return round(float(frame.mean()) * 255 / 20)


@pytest.mark.parametrize(("fps", "decoded"), [(12, [0, 1, 2, 3, 7, 7]), (6, [0, 2, 4, 6, 7, 7]), (24, [0, 0, 1, 1, 3, 7])])
def test_frames_are_resampled_to_the_animations_frame_rate(tmp_path: Path, fps: float, decoded: list[int]):
    """Frame n is the one showing n / fps seconds in: every other frame at half the rate, each twice at
    double the rate; the last one past the end."""
    reader = VideoFrames(str(grey_levels(tmp_path / "g.mp4")), "mask", fps=fps)
    assert [level(reader.frame(index)) for index in (0, 1, 2, 3, 7, 40)] == decoded


def test_a_video_mask_follows_the_output_frame_the_stride_and_the_frame_rate(tmp_path: Path):
    """Output frame k shows resampled frame (k + 1)·stride: at 6 fps with stride 2, video frame 4·(k + 1)."""
    frames = VideoFrames(str(grey_levels(tmp_path / "g.mp4", 12)), "mask", fps=6)
    mask = VideoLossMask(frames, inverted=False, size=(16, 16), device=torch.device("cpu"))
    hook = VideoMasksHook([mask], frame_stride=2)
    seen = []
    for frame in range(4):
        hook.on_frame(FrameStart(frame, frame, frame / 6), None)  # type: ignore[arg-type]
        seen.append(level(mask.tensor))
    assert seen == [4, 8, 11, 11]


def test_a_mask_video_of_another_size_is_resized_with_a_warning(tmp_path: Path, caplog):
    frames = VideoFrames(str(grey_levels(tmp_path / "g.mp4", 2)), "edge_stabilization_weight", fps=12)
    with caplog.at_level("WARNING"):
        mask = VideoLossMask(frames, inverted=True, size=(8, 4), device=torch.device("cpu"))
    assert mask.tensor.shape == (1, 1, 8, 4) and torch.allclose(mask.tensor, torch.ones(1, 1, 8, 4))
    assert "edge_stabilization_weight: the mask video" in caplog.text and "16×16, the picture 4×8" in caplog.text


def test_has_sound_tells_videos_with_an_audio_track(tmp_path: Path):
    assert has_sound(str(moving_square(tmp_path / "loud.mp4", 2)))
    assert not has_sound(str(moving_square(tmp_path / "quiet.mp4", 2, sound=False)))
    assert not has_sound(str(tmp_path / "nowhere.mp4"))
