"""export_video: the written files decoded back with PyAV (frames, rate, size, colours, order, sound)."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dreamloom.errors import DreamloomError, InputFileError
from dreamloom.output.video import export_video, frame_rate
from dreamloom.settings.choices import VideoFormat

from .media import decoded_audio, dominant_frequency, grey_ramp, write_frames


def _video(path: Path) -> tuple[av.video.stream.VideoStream, list[np.ndarray]]:
    """The video stream's metadata and every decoded frame as RGB."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream, [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]


def _seconds(stream: av.stream.Stream) -> float:
    return float(stream.duration * stream.time_base)


@pytest.mark.parametrize("fps", [12, 29.97])
def test_mp4_has_every_frame_at_the_exact_rate(tmp_path, fps):
    frames = write_frames(tmp_path / "run", grey_ramp(12))
    written = export_video(frames, tmp_path / "run" / "demo.mp4", fps=fps)
    stream, decoded = _video(written)
    assert written == tmp_path / "run" / "demo.mp4"
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(decoded) == 12
    assert stream.average_rate == frame_rate(fps) == Fraction(fps).limit_denominator(100)
    assert _seconds(stream) == pytest.approx(12 / fps, abs=1e-4)


def test_frame_rate_is_exact_for_ntsc_and_decimal_rates():
    assert frame_rate(12.0) == 12
    assert frame_rate(29.97) == Fraction(2997, 100)
    assert frame_rate(30000 / 1001) == Fraction(30000, 1001)


def test_frames_keep_their_order_and_colour(tmp_path):
    colours = grey_ramp(11) + [(230, 40, 40)]
    _, decoded = _video(export_video(write_frames(tmp_path, colours), tmp_path / "demo.mp4", fps=12))
    means = [frame.reshape(-1, 3).mean(axis=0) for frame in decoded]
    brightness = [mean[0] for mean in means[:11]]
    assert brightness == sorted(brightness)
    for mean, colour in zip(means, colours):
        assert np.abs(mean - colour).max() < 4, (mean, colour)


def test_odd_sizes_are_padded_to_even_with_the_edge_colour(tmp_path):
    frames = write_frames(tmp_path, [(40, 180, 60)] * 3, size=(65, 47))
    stream, decoded = _video(export_video(frames, tmp_path / "demo.mp4", fps=12))
    assert (stream.width, stream.height) == (66, 48)
    assert decoded[0].shape == (48, 66, 3)
    padding = np.concatenate([decoded[0][:, -1], decoded[0][-1]])
    assert np.abs(padding.astype(int) - (40, 180, 60)).max() < 6


def test_sound_is_aac_cut_to_the_video_length(tmp_path, tone):
    frames = write_frames(tmp_path, grey_ramp(15))
    written = export_video(frames, tmp_path / "demo.mp4", fps=12, audio=tone("tone.wav", [(440, 3.0)]))
    with av.open(str(written)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert sound.codec_context.name == "aac"
        assert abs(_seconds(sound) - _seconds(video)) <= 1024 / sound.rate
    assert _seconds(video) == pytest.approx(15 / 12, abs=1e-4)
    samples, rate = decoded_audio(written)
    assert dominant_frequency(samples, rate) == pytest.approx(440, abs=5)


@pytest.mark.parametrize("name", ["tone.wav", "tone.mp3"])
def test_offset_starts_the_sound_later_in_the_file(tmp_path, tone, name):
    audio = tone(name, [(440, 1.0), (1000, 2.0)])
    frames = write_frames(tmp_path, grey_ramp(6))
    from_start = export_video(frames, tmp_path / "start.mp4", fps=12, audio=audio)
    from_offset = export_video(frames, tmp_path / "offset.mp4", fps=12, audio=audio, audio_offset=1.0)
    assert dominant_frequency(*decoded_audio(from_start)) == pytest.approx(440, abs=5)
    assert dominant_frequency(*decoded_audio(from_offset)) == pytest.approx(1000, abs=5)


def test_an_offset_past_the_end_of_the_audio_is_an_error(tmp_path, tone):
    audio = tone("tone.wav", [(440, 1.0)])
    with pytest.raises(InputFileError, match=r"offset 2 s is past the end of .*tone\.wav"):
        export_video(write_frames(tmp_path, grey_ramp(3)), tmp_path / "demo.mp4", fps=12, audio=audio, audio_offset=2.0)
    assert not (tmp_path / "demo.mp4").exists()


def test_gif_has_every_frame_and_leaves_sound_out_with_a_warning(tmp_path, tone, caplog):
    frames = write_frames(tmp_path, grey_ramp(9), size=(33, 21))
    with caplog.at_level(logging.WARNING, logger="dreamloom"):
        written = export_video(frames, tmp_path / "demo.gif", fps=10, fmt=VideoFormat.GIF, audio=tone("tone.wav", [(440, 2.0)]))
    with av.open(str(written)) as container:
        assert not container.streams.audio
    stream, decoded = _video(written)
    assert stream.codec_context.name == "gif"
    assert len(decoded) == 9
    assert decoded[0].shape == (21, 33, 3)
    assert np.abs(decoded[4].astype(int) - grey_ramp(9)[4]).max() <= 2
    assert "no sound" in caplog.text


def test_webm_is_vp9_with_opus_sound(tmp_path, tone):
    frames = write_frames(tmp_path, grey_ramp(7))
    written = export_video(frames, tmp_path / "demo.webm", fps=12, fmt=VideoFormat.WEBM, audio=tone("tone.wav", [(1000, 2.0)]))
    with av.open(str(written)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
    stream, decoded = _video(written)
    assert stream.codec_context.name == "vp9"
    assert len(decoded) == 7
    assert dominant_frequency(*decoded_audio(written)) == pytest.approx(1000, abs=5)


def test_webm_falls_back_to_vp8_and_fails_clearly_without_either(tmp_path, monkeypatch):
    frames = write_frames(tmp_path, grey_ramp(4))
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libvpx-vp9"})
    stream, decoded = _video(export_video(frames, tmp_path / "vp8.webm", fps=12, fmt=VideoFormat.WEBM))
    assert stream.codec_context.name == "vp8"
    assert len(decoded) == 4
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libvpx"})
    with pytest.raises(DreamloomError, match="no libvpx-vp9 or libvpx encoder, which a webm video needs"):
        export_video(frames, tmp_path / "none.webm", fps=12, fmt=VideoFormat.WEBM)


def test_crf_trades_size_for_quality(tmp_path):
    rng = np.random.default_rng(0)
    frames = []
    for number in range(1, 5):
        path = tmp_path / f"noise_{number}.png"
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
        frames.append(path)
    fine = export_video(frames, tmp_path / "fine.mp4", fps=12, crf=10)
    coarse = export_video(frames, tmp_path / "coarse.mp4", fps=12, crf=40)
    assert fine.stat().st_size > 2 * coarse.stat().st_size


def test_a_corrupt_frame_leaves_no_video_under_the_final_name(tmp_path):
    frames = write_frames(tmp_path, grey_ramp(8))
    frames[5].write_bytes(b"not a png")
    destination = tmp_path / "demo.mp4"
    destination.write_bytes(b"the previous video")
    with pytest.raises(InputFileError, match=r"Cannot read the frame .*demo_6\.png"):
        export_video(frames, destination, fps=12)
    assert destination.read_bytes() == b"the previous video"
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.endswith(".png")) == ["demo.mp4"]


def test_frames_of_another_size_name_the_first_odd_file(tmp_path):
    frames = write_frames(tmp_path, grey_ramp(3)) + write_frames(tmp_path, grey_ramp(2), base="odd", size=(32, 32))
    with pytest.raises(InputFileError, match=r"odd_1\.png is 32×32 but demo_1\.png is 64×48"):
        export_video(frames, tmp_path / "demo.mp4", fps=12)
    assert not (tmp_path / "demo.mp4").exists()


def test_no_frames_is_an_error_naming_the_destination(tmp_path):
    with pytest.raises(InputFileError, match="No frames to put in .*demo.mp4"):
        export_video([], tmp_path / "demo.mp4", fps=12)
