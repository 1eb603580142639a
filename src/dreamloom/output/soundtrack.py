"""A video's sound: an audio file from an offset, cut to the video's length, encoded beside its frames.

The audio is decoded, resampled and encoded a little at a time, in step with the frames, so a long song
never sits in memory and the container's audio and video packets stay interleaved.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.container

from dreamloom.audio.decoding import open_audio, resampled_frames
from dreamloom.errors import InputFileError

FALLBACK_RATE = 48_000
"""The sample rate used when the encoder cannot keep the file's own (Opus and 44.1 kHz, for one)."""


class Soundtrack:
    """Streams ``path`` from ``offset`` seconds into a new audio stream of ``output``, at most ``duration`` long.

    Create it before the first packet is muxed; call :meth:`write_until` after each video frame and
    :meth:`finish` after the last one. A context manager, so the audio file is closed on every path.
    """

    def __init__(self, path: Path, offset: float, output: av.container.OutputContainer, codec: str, duration: Fraction) -> None:
        self.path = path
        self.offset = offset
        self._output = output
        self._input = open_audio(path)
        try:
            self._start(codec, duration)
        except BaseException:
            self._input.close()
            raise

    def _start(self, codec: str, duration: Fraction) -> None:
        """Add and open the encoder, and set up the decoding, trimming and cutting of the sound."""
        self._check_offset()
        source = self._input.streams.audio[0]
        self._stream = self._output.add_stream(codec, rate=_output_rate(codec, source.rate))
        context = self._stream.codec_context
        context.layout = "mono" if source.channels == 1 else "stereo"
        context.format = context.codec.audio_formats[0]
        context.open()
        self._rate = context.sample_rate
        self._frame_size = context.frame_size
        self._limit = math.floor(duration * self._rate)
        self._skip = round(self.offset * self._rate)
        self._written = 0
        self._fifo = av.AudioFifo()
        resampler = av.AudioResampler(format=context.format, layout=context.layout, rate=self._rate)
        self._source = resampled_frames(self._input, resampler, self.path)

    def __enter__(self) -> Soundtrack:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._input.close()

    def _check_offset(self) -> None:
        """An offset past the end of a file of known length is caught before any frame is encoded."""
        if self._input.duration is not None and self.offset >= self._input.duration / av.time_base:
            raise InputFileError(
                f"The audio offset {self.offset:g} s is past the end of {self.path} "
                f"({self._input.duration / av.time_base:.2f} s long). Choose a smaller input_audio_offset (--audio-offset)."
            )

    def _fill(self, samples: int) -> int:
        """Buffer up to ``samples`` samples past the offset (fewer at the end of the file); returns how many are."""
        while self._fifo.samples < samples and (frame := next(self._source, None)) is not None:
            frame.pts = None  # the fifo checks timestamps; the encoder gets its own below
            self._fifo.write(frame)
            if self._skip:
                dropped = min(self._skip, self._fifo.samples)
                self._fifo.read(dropped)
                self._skip -= dropped
        return self._fifo.samples

    def _encode(self, chunk: av.AudioFrame | None) -> None:
        if chunk is not None:
            chunk.pts = self._written
            chunk.time_base = Fraction(1, self._rate)
            self._written += chunk.samples
        self._output.mux(self._stream.encode(chunk))

    def write_until(self, seconds: Fraction) -> None:
        """Encode every whole encoder frame of sound that ends by ``seconds`` into the video."""
        target = min(self._limit, math.floor(seconds * self._rate))
        while target - self._written >= self._frame_size and self._fill(self._frame_size) >= self._frame_size:
            self._encode(self._fifo.read(self._frame_size))

    def finish(self) -> None:
        """Encode the rest up to the video's end (a short last frame), then flush the encoder."""
        self.write_until(Fraction(self._limit, self._rate))
        remaining = min(self._limit - self._written, self._fill(self._frame_size))
        if remaining > 0:
            self._encode(self._fifo.read(remaining))
        if self._written == 0:
            raise InputFileError(
                f"The audio file {self.path} has no sound after {self.offset:g} s. "
                f"Choose a smaller input_audio_offset (--audio-offset) or another file."
            )
        self._encode(None)


def _output_rate(codec: str, rate: int) -> int:
    """Keep the file's sample rate where the encoder allows it."""
    allowed = av.codec.Codec(codec, "w").audio_rates
    return rate if not allowed or rate in allowed else FALLBACK_RATE
