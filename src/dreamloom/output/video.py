"""Video export: a run's frame PNGs, in order, as an mp4 (H.264 + AAC), webm (VP9/VP8 + Opus) or gif.

pytti-core left its users with a folder of PNGs and an ffmpeg command line to find; dreamloom writes the
video itself through PyAV's bundled FFmpeg. Frames are read one at a time, and the file is written under a
temporary name and renamed, so a crash never leaves a half-written video under the final name.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from dreamloom.errors import DreamloomError, InputFileError
from dreamloom.output.files import write_atomically
from dreamloom.output.soundtrack import Soundtrack
from dreamloom.settings.choices import VideoFormat
from dreamloom.settings.schema import Settings

log = logging.getLogger("dreamloom")

DEFAULT_CRF: int = Settings.model_fields["video_crf"].default
"""The ``video_crf`` setting's default (x264's constant rate factor; 18 looks lossless to most eyes)."""

BT709 = 1
"""FFmpeg's code for ITU-R BT.709 (matrix, primaries and transfer): what players assume for video."""


@dataclass(frozen=True)
class ContainerSpec:
    """How one output format is written: its muxer, the encoders to try in order, and the pixel format."""

    muxer: str
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...]
    pixel_format: str


CONTAINERS: dict[VideoFormat, ContainerSpec] = {
    VideoFormat.MP4: ContainerSpec("mp4", ("libx264",), ("aac",), "yuv420p"),
    VideoFormat.WEBM: ContainerSpec("webm", ("libvpx-vp9", "libvpx"), ("libopus",), "yuv420p"),
    VideoFormat.GIF: ContainerSpec("gif", ("gif",), (), "pal8"),
}


def frame_rate(fps: float) -> Fraction:
    """``fps`` as an exact fraction (12, 2997/100, 30000/1001), so N frames last exactly N/fps seconds."""
    return Fraction(fps).limit_denominator(1001)


def export_video(
    frames: Sequence[Path],
    destination: Path,
    *,
    fps: float,
    crf: int = DEFAULT_CRF,
    fmt: VideoFormat = VideoFormat.MP4,
    audio: Path | None = None,
    audio_offset: float = 0.0,
) -> Path:
    """Encode ``frames`` (in this order, all one size) into ``destination`` and return it.

    ``audio`` (any format FFmpeg decodes) becomes the sound from ``audio_offset`` seconds on, cut to the
    video's length; a gif has no sound, so it is left out with a warning. ``crf`` sets the quality of mp4
    and webm (lower is better; ignored for gif).
    """
    if not frames:
        raise InputFileError(f"No frames to put in {destination}: the frame list is empty. Render an animation first.")
    spec = CONTAINERS[fmt]
    codec = _available(spec.video_codecs, fmt)
    if audio is not None and not spec.audio_codecs:
        log.warning("A %s has no sound; %s is left out (choose mp4 or webm to keep it).", fmt.value, audio)
        audio = None
    sound = None if audio is None else _Sound(audio, _available(spec.audio_codecs, fmt), audio_offset)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(destination, lambda temporary: _write(frames, temporary, spec, codec, frame_rate(fps), crf, sound))
    except (OSError, av.error.FFmpegError) as error:
        raise DreamloomError(
            f"Could not write the video {destination}: {getattr(error, 'strerror', None) or error}. "
            f"Check that the folder is writable and has free space."
        ) from None
    return destination


def _available(codecs: tuple[str, ...], fmt: VideoFormat) -> str:
    """The first of ``codecs`` this FFmpeg build has; a build without any cannot write ``fmt`` at all."""
    for codec in codecs:
        if codec in av.codecs_available:
            return codec
    raise DreamloomError(
        f"This PyAV build has no {' or '.join(codecs)} encoder, which a {fmt.value} video needs. "
        f"Choose another video format (mp4, gif or webm) or install a PyAV wheel that includes it."
    )


@dataclass(frozen=True)
class _Sound:
    """The audio file to mux, the encoder for it, and where in the file the video starts (seconds)."""

    path: Path
    codec: str
    offset: float


def _write(frames: Sequence[Path], temporary: Path, spec: ContainerSpec, codec: str, rate: Fraction, crf: int, sound: _Sound | None) -> None:
    """The whole encode, into ``temporary``: one frame decoded at a time, the sound interleaved with it."""
    width, height = size = _load_rgb(frames[0]).size
    pad = spec.pixel_format == "yuv420p"
    with av.open(str(temporary), mode="w", format=spec.muxer) as output, contextlib.ExitStack() as stack:
        stream = output.add_stream(codec, rate=rate)
        stream.width, stream.height = (_even(width), _even(height)) if pad else (width, height)
        stream.pix_fmt = spec.pixel_format
        stream.options = _quality_options(codec, crf)
        if pad:
            _tag_bt709(stream.codec_context)
        soundtrack = None
        if sound is not None:
            soundtrack = stack.enter_context(Soundtrack(sound.path, sound.offset, output, sound.codec, len(frames) / rate))
        for index, path in enumerate(frames):
            image = _load_rgb(path)
            _check_size(image, path, size, frames[0])
            frame = _yuv_frame(image) if pad else _palette_frame(image)
            frame.pts = index
            output.mux(stream.encode(frame))
            if soundtrack is not None:
                soundtrack.write_until((index + 1) / rate)
        output.mux(stream.encode(None))
        if soundtrack is not None:
            soundtrack.finish()


def _even(side: int) -> int:
    return side + side % 2


def _quality_options(codec: str, crf: int) -> dict[str, str]:
    """Constant-quality encoding: x264 and VP9 take the CRF alone; VP8 needs a bitrate cap beside it."""
    if codec == "libx264":
        return {"crf": str(crf), "preset": "medium"}
    if codec == "libvpx-vp9":
        return {"crf": str(crf), "b:v": "0", "row-mt": "1"}
    if codec == "libvpx":
        return {"crf": str(max(crf, 4)), "b:v": "20M"}
    return {}


def _tag_bt709(context: av.codec.context.CodecContext) -> None:
    """Mark the stream as BT.709, limited range, to match how :func:`_yuv_frame` converts the colours."""
    context.colorspace = context.color_primaries = context.color_trc = BT709
    context.color_range = 1  # MPEG (limited) range


def _load_rgb(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise InputFileError(f"Cannot read the frame {path}: {error}. Delete or replace the broken file.") from None


def _check_size(image: Image.Image, path: Path, size: tuple[int, int], first: Path) -> None:
    if image.size != size:
        raise InputFileError(
            f"The frame {path} is {image.size[0]}×{image.size[1]} but {first.name} is {size[0]}×{size[1]}; "
            f"every frame of a video must have the same size. Remove or resize the odd frames."
        )


def _yuv_frame(image: Image.Image) -> av.VideoFrame:
    """A 4:2:0 frame; an odd width or height is padded by one repeated edge column or row (not cropped)."""
    pixels = np.asarray(image)
    pixels = np.pad(pixels, ((0, pixels.shape[0] % 2), (0, pixels.shape[1] % 2), (0, 0)), mode="edge")
    frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
    return frame.reformat(format="yuv420p", dst_colorspace="ITU709")


def _palette_frame(image: Image.Image) -> av.VideoFrame:
    """A gif frame with its own 256-colour palette, so each frame keeps its colours.

    Fast octree, not PIL's median cut: about as close in colour, and a thousand times faster on a busy frame.
    """
    quantized = image.quantize(256, method=Image.Quantize.FASTOCTREE)
    colours = np.asarray(quantized.getpalette(), dtype=np.uint8).reshape(-1, 3)
    palette = np.zeros((256, 4), dtype=np.uint8)
    palette[:, 0] = 255  # opaque (ARGB)
    palette[: len(colours), 1:] = colours
    return av.VideoFrame.from_ndarray((np.asarray(quantized), palette), format="pal8")
