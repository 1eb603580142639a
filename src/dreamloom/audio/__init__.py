"""Audio reactivity: decoding, band-pass envelopes, onsets and beats → per-frame expression variables.

Plain numpy/scipy functions over samples, floats and small dataclasses; they know nothing of settings.
"""

from dreamloom.audio.analysis import AudioFrames, analyse
from dreamloom.audio.bands import Band
from dreamloom.audio.decoding import check_audio, mono_samples, open_audio

__all__ = ["AudioFrames", "Band", "analyse", "check_audio", "mono_samples", "open_audio"]
