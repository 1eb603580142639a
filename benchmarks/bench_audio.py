"""Speed and memory of the audio analysis on a synthesized track (``python benchmarks/bench_audio.py``).

Writes a track (default 5 minutes: a bass line, a melody, 120 BPM clicks and noise) to a temporary file,
then times ``analyse_settings`` — decoding, every band filter, spectral flux, beats — as a render runs it.
Memory: the peak of numpy and Python allocations during the analysis (tracemalloc) and the process's peak
resident size. Run it at two lengths to see that memory does not grow with the track.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from dreamloom.engine.audio_variables import analyse_settings
from dreamloom.settings.loading import load_settings

RATE = 44_100
FILTERS = [
    {"variable_name": "fLo", "f_center": 105, "f_width": 65},
    {"variable_name": "fMid", "f_center": 500, "f_width": 300},
    {"variable_name": "fHi", "f_center": 900, "f_width": 600},
    {"variable_name": "fAir", "f_center": 8000, "f_width": 4000, "attack": 0.02, "release": 0.3},
]


def synthesize(seconds: float, seed: int = 0) -> Iterator[np.ndarray]:
    """A stand-in for music, a second at a time: a bass note per beat, a melody per half beat, clicks on the
    beat (120 BPM), some noise. Shape: each piece [RATE] (the last may be shorter)."""
    noise = np.random.default_rng(seed)
    for start in range(0, round(seconds * RATE), RATE):
        time_axis = np.arange(start, min(start + RATE, round(seconds * RATE))) / RATE
        beat = np.floor(time_axis * 2)
        bass = 0.3 * np.sin(2 * np.pi * (55 + 10 * (beat % 4)) * time_axis) * np.exp(-3 * (time_axis * 2 % 1))
        melody = 0.2 * np.sin(2 * np.pi * (440 + 110 * (np.floor(time_axis * 4) % 5)) * time_axis)
        clicks = np.where(np.arange(start, start + len(time_axis)) % (RATE // 2) == 0, 0.8, 0.0)
        yield (bass + melody + clicks + 0.02 * noise.standard_normal(len(time_axis))).astype(np.float32)


def write_track(path: Path, pieces: Iterable[np.ndarray]) -> None:
    """Encode ``pieces`` with the codec the suffix implies (``.wav`` PCM, ``.m4a`` AAC)."""
    codec = {".wav": "pcm_s16le", ".m4a": "aac"}[path.suffix]
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=RATE)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0], layout="mono", rate=RATE)
        start = 0
        for piece in pieces:
            frame = av.AudioFrame.from_ndarray(piece[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.time_base, frame.pts = RATE, Fraction(1, RATE), start
            start += len(piece)
            for chunk in resampler.resample(frame):
                output.mux(stream.encode(chunk))
        for chunk in resampler.resample(None):
            output.mux(stream.encode(chunk))
        output.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="track length (default 300: five minutes)")
    parser.add_argument("--format", choices=["wav", "m4a"], default="m4a", help="container and codec of the track")
    parser.add_argument("--fps", type=float, default=12.0)
    parser.add_argument("--repeats", type=int, default=3, help="timed analyses; the median is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        track = Path(folder) / f"track.{args.format}"
        write_track(track, synthesize(args.seconds))
        settings = load_settings({"input_audio": str(track), "input_audio_filters": FILTERS,
                                  "frames_per_second": args.fps})
        times = []
        for _ in range(args.repeats):
            begin = time.perf_counter()
            frames = analyse_settings(settings)
            times.append(time.perf_counter() - begin)
        tracemalloc.start()
        analyse_settings(settings)
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    resident = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.seconds:g} s {args.format} track, {len(FILTERS)} filters, {args.fps:g} fps → {frames.frame_count} frames")
    print(f"analysis: median {np.median(times):.2f} s of {args.repeats} ({', '.join(f'{t:.2f}' for t in times)}); "
          f"{args.seconds / np.median(times):.0f}× real time")
    print(f"memory: {traced_peak / 2**20:.1f} MiB peak allocations during the analysis; process peak resident {resident:.0f} MiB")


if __name__ == "__main__":
    main()
