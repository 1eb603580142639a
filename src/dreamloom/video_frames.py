"""Reading the frames of a video that a setting or prompt names (mask videos, the Video Source video),
forward, one frame at a time.

pytti read mask videos with imageio at their own frame rate and crashed when an animation outlasted them
(animation-losses-outputs §5, §10.6), and converted source videos with an ``ffmpeg`` on PATH (§4.1). Here
PyAV decodes the video forward as the animation advances, holds only the current frame and the next one
(so long videos cost no memory, and masks that share a file decode each frame once), optionally resamples
it to the animation's frame rate, and a frame past the end is the last frame. Mask frames are greyscale
as PIL's ``L`` conversion of the RGB frame makes them, as pytti converts its masks.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import numpy as np
import torch
from PIL import Image

from dreamloom.errors import InputFileError
from dreamloom.sources import read_source

__all__ = ["VideoFrames", "has_sound"]


def _reason(failure: Exception) -> str:
    """FFmpeg's reason without the path it repeats."""
    return getattr(failure, "strerror", None) or str(failure)


#: Frames whose times differ by less than this (seconds) count as simultaneous (timestamp rounding).
_TIME_TOLERANCE = 1e-4


class VideoFrames:
    """The frames of the video at ``source`` (a path or an http(s) URL): greyscale for masks
    (:meth:`frame`), RGB for the Video Source (:meth:`picture`).

    Reading is forward from the frame read last; asking for an earlier frame reopens the video (only a
    resumed run does). With ``fps``, frame ``n`` is the one showing at ``n / fps`` seconds after the first
    (the last frame that started by then: frames repeat or drop); without, it is the ``n``-th decoded frame.
    The first frame is read when the reader is made, so a missing, corrupt or empty video fails at once.
    Every failure is an InputFileError that starts with ``where``.
    """

    def __init__(self, source: str, where: str, *, fps: float | None = None) -> None:
        self.source = source
        self.where = where
        self.fps = fps
        path = Path(source).expanduser()
        # os.path.isfile is False for a name too long to stat; read_source then says so, naming the setting
        self._path: Path | None = path if os.path.isfile(path) else None
        self._data = None if self._path is not None else read_source(source, where)
        self._container: av.container.InputContainer | None = None
        self._decoded: Iterator[av.VideoFrame] = iter(())
        self._index = -1
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None
        self._start_time = 0.0
        self._grey: tuple[int, torch.Tensor] | None = None
        self._restart()

    def _fail(self, what: str) -> InputFileError:
        return InputFileError(
            f"{self.where}: the video {self.source} {what}; give a video file PyAV can read (e.g. an mp4)"
        )

    def _restart(self) -> None:
        """Open the video afresh and read its first frame."""
        if self._container is not None:
            self._container.close()
        try:
            self._container = av.open(str(self._path) if self._path is not None else io.BytesIO(self._data))
        except (av.FFmpegError, OSError) as failure:
            raise self._fail(f"cannot be opened ({_reason(failure)})") from None
        if not self._container.streams.video:
            raise self._fail("has no video stream")
        self._decoded = self._container.decode(video=0)
        self._index = -1
        self._current = self._next = None
        self._next = self._decode()
        if not self._advance():
            raise self._fail("has no frames")
        self._start_time = 0.0
        self._start_time = self._time(self._current, 0)

    def _decode(self) -> av.VideoFrame | None:
        try:
            return next(self._decoded, None)
        except (av.FFmpegError, OSError) as failure:
            raise self._fail(f"is corrupt after frame {self._index + 1} ({_reason(failure)})") from None

    def _advance(self) -> bool:
        """Move to the next decoded frame (decoding the one after it); False at the end of the video."""
        if self._next is None:
            return False
        self._current, self._index = self._next, self._index + 1
        self._next = self._decode()
        return True

    def _time(self, frame: av.VideoFrame, index: int) -> float:
        """Seconds of ``frame`` (decoded frame ``index``) since the first frame."""
        if frame.time is not None:
            return frame.time - self._start_time
        rate = self._container.streams.video[0].average_rate if self._container is not None else None
        return index / float(rate) if rate else float(index)

    def _seek(self, index: int) -> av.VideoFrame:
        """The decoded frame that is output frame ``index`` (see the class docstring)."""
        if self.fps is None:
            if index < self._index:
                self._restart()
            while self._index < index and self._advance():
                pass
        else:
            seconds = index / self.fps + _TIME_TOLERANCE
            assert self._current is not None
            if self._time(self._current, self._index) > seconds:
                self._restart()
            while self._next is not None and self._time(self._next, self._index + 1) <= seconds:
                self._advance()
        assert self._current is not None
        return self._current

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the video's pictures."""
        assert self._current is not None
        return self._current.width, self._current.height

    def picture(self, index: int) -> Image.Image:
        """Output frame ``index`` (0-based) as an RGB picture; beyond the last frame, the last frame."""
        return self._seek(index).to_image().convert("RGB")

    def frame(self, index: int) -> torch.Tensor:
        """Output frame ``index`` (0-based) in grey levels; beyond the last frame, the last frame.

        Shape: -> [H, W] in [0, 1] (CPU)
        """
        self._seek(index)
        if self._grey is None or self._grey[0] != self._index:
            grey = np.asarray(self.picture(index).convert("L"), dtype=np.uint8)
            self._grey = (self._index, torch.from_numpy(grey.copy()).float() / 255)
        return self._grey[1]


def has_sound(source: str) -> bool:
    """Whether ``source`` is a local file with an audio stream (the sound a Video Source render keeps)."""
    path = Path(source).expanduser()
    if not path.is_file():
        return False
    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except (av.FFmpegError, OSError):
        return False
