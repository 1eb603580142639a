"""Configs bundled with dreamloom (``dreamloom examples``, ``dreamloom render --example NAME``).

Each example is ``assets/examples/NAME.yaml``; its first comment line is the one-line summary that
``dreamloom examples`` prints. The sound an audio example needs is made here, not shipped, to keep the
package small: a config names it by its bare file name and :func:`example_overrides` points the setting at
the generated file.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import wave
from importlib import resources
from pathlib import Path

from dreamloom.errors import SettingsError

SOUND_NAME = "pulse.wav"
SOUND_RATE = 16_000
SOUND_SECONDS = 3.0


def example_names() -> list[str]:
    folder = resources.files("dreamloom") / "assets" / "examples"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))


def example_path(name: str) -> Path:
    """The file of a bundled example; an unknown name lists the ones that exist."""
    if name not in example_names():
        raise SettingsError(f"--example: there is no bundled example {name!r}; choose one of {', '.join(example_names())}.")
    return Path(str(resources.files("dreamloom") / "assets" / "examples" / f"{name}.yaml"))


def example_summary(name: str) -> str:
    """The example's first comment line, so the listing and the file cannot disagree."""
    first = example_path(name).read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("#").strip()


def example_overrides(name: str) -> list[str]:
    """Overrides that point the example's ``input_audio: pulse.wav`` at the generated sound, since a relative
    path is read from where the render runs, not from the package."""
    lines = example_path(name).read_text(encoding="utf-8").splitlines()
    if f"input_audio: {SOUND_NAME}" not in lines:
        return []
    return [f"input_audio={example_sound()}"]


def example_sound(folder: Path | None = None) -> Path:
    """Write the examples' pulse (once; rewritten if it was changed) and return its path.

    The default folder is ``<temp>/dreamloom-examples``; the file is replaced atomically, so two renders
    starting together never read half a file.
    """
    folder = folder or Path(tempfile.gettempdir()) / "dreamloom-examples"
    path = folder / SOUND_NAME
    data = _pulse_wav()
    if path.is_file() and path.read_bytes() == data:
        return path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            os.chmod(partial, 0o644)
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(partial, path)
        finally:
            Path(partial).unlink(missing_ok=True)  # gone after the replace; a failed write leaves no litter
    except OSError as error:
        raise SettingsError(f"input_audio: cannot write the example sound {path}: {error.strerror or error}.") from None
    return path


def _pulse_wav() -> bytes:
    """Deterministic 16-bit mono sound: a 110 Hz thump every half second (what ``fLo`` hears) and an 880 Hz
    whistle that swells from 1 s to the end (what ``fHi`` hears)."""
    samples = []
    for index in range(int(SOUND_RATE * SOUND_SECONDS)):
        t = index / SOUND_RATE
        since_beat = t % 0.5
        thump = 0.6 * math.exp(-since_beat / 0.08) * math.sin(2 * math.pi * 110 * since_beat)
        swell = 0.3 * max(0.0, (t - 1.0) / (SOUND_SECONDS - 1.0)) * math.sin(2 * math.pi * 880 * t)
        samples.append(round(32767 * (thump + swell)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(SOUND_RATE)
        sound.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()
