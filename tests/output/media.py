"""Media for the video tests: numbered frame PNGs and sine tones written with PyAV, and ways to measure them."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

TONE_RATE = 44_100


def write_frames(folder: Path, colours: Sequence[tuple[int, int, int]], base: str = "demo", size: tuple[int, int] = (64, 48)) -> list[Path]:
    """Flat frames ``<base>_1.png``, ``<base>_2.png``, ... one per colour, in numeric order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, colour in enumerate(colours, start=1):
        path = folder / f"{base}_{number}.png"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    return paths


def grey_ramp(count: int) -> list[tuple[int, int, int]]:
    """Frames that get brighter one by one, so their order can be read back from the video."""
    return [(20 * number, 20 * number, 20 * number) for number in range(1, count + 1)]


def write_tone(path: Path, pieces: Sequence[tuple[float, float]], codec: str) -> Path:
    """A mono sine tone of ``(frequency Hz, seconds)`` pieces, e.g. 440 Hz for 1 s then 1000 Hz."""
    signal = np.concatenate([
        0.5 * np.sin(2 * np.pi * frequency * np.arange(round(seconds * TONE_RATE)) / TONE_RATE)
        for frequency, seconds in pieces
    ]).astype(np.float32)
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=TONE_RATE)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0], layout="mono", rate=TONE_RATE)
        frame = av.AudioFrame.from_ndarray(signal[None, :], format="fltp", layout="mono")
        frame.sample_rate = TONE_RATE
        frame.time_base = Fraction(1, TONE_RATE)
        frame.pts = 0
        for chunk in resampler.resample(frame) + resampler.resample(None):
            output.mux(stream.encode(chunk))
        output.mux(stream.encode(None))
    return path


def decoded_audio(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream of ``path`` mixed down to mono float samples, and its sample rate."""
    with av.open(str(path)) as container:
        rate = container.streams.audio[0].rate
        mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = [chunk.to_ndarray().ravel() for frame in container.decode(audio=0) for chunk in mono.resample(frame)]
    return np.concatenate(chunks), rate


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))
