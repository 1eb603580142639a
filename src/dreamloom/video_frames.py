"""Reading the frames of a video that a setting or prompt names (mask videos), forward, one frame at a time.

pytti read mask videos with imageio and crashed when an animation outlasted them (animation-losses-outputs
§5, §10.6). Here PyAV decodes the video forward as the animation advances, holds only the current frame
(so masks that share a file decode each frame once), and a frame past the end is the last frame. Frames
are greyscale as PIL's ``L`` conversion of the RGB frame makes them, as pytti converts its masks.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import av.container
import numpy as np
import torch

from dreamloom.errors import InputFileError
from dreamloom.sources import read_source

__all__ = ["VideoFrames"]


def _reason(failure: Exception) -> str:
    """FFmpeg's reason without the path it repeats."""
    return getattr(failure, "strerror", None) or str(failure)


class VideoFrames:
    """The greyscale frames of the video at ``source`` (a path or an http(s) URL).

    :meth:`frame` decodes forward from the frame read last; asking for an earlier frame reopens the video
    (only a resumed run does). The first frame is read when the reader is made, so a missing, corrupt or
    empty video fails at once. Every failure is an InputFileError that starts with ``where``.
    """

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where
        path = Path(source).expanduser()
        self._path: Path | None = path if path.is_file() else None
        self._data = None if self._path is not None else read_source(source, where)
        self._container: av.container.InputContainer | None = None
        self._decoded: Iterator[av.VideoFrame] = iter(())
        self._index = -1
        self._current = torch.empty(0)
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
        if not self._advance():
            raise self._fail("has no frames")

    def _advance(self) -> bool:
        """Decode the next frame into the current one; False at the end of the video."""
        try:
            frame = next(self._decoded, None)
        except (av.FFmpegError, OSError) as failure:
            raise self._fail(f"is corrupt after frame {self._index} ({_reason(failure)})") from None
        if frame is None:
            return False
        grey = np.asarray(frame.to_image().convert("L"), dtype=np.uint8)
        self._current = torch.from_numpy(grey.copy()).float() / 255
        self._index += 1
        return True

    def frame(self, index: int) -> torch.Tensor:
        """Frame ``index`` (0-based) of the video; beyond the last frame, the last frame.

        Shape: -> [H, W] in [0, 1] (CPU)
        """
        if index < self._index:
            self._restart()
        while self._index < index and self._advance():
            pass
        return self._current
