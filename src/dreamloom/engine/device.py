"""Device and precision from the settings: ``auto`` picks CUDA, then Apple MPS, then the CPU."""

from __future__ import annotations

import logging

import torch

from dreamloom.errors import SettingsError
from dreamloom.settings.choices import Precision

log = logging.getLogger(__name__)


def resolve_device(setting: str) -> torch.device:
    """``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``, or pytti's integer N (CUDA device N when CUDA exists)."""
    if setting.isdigit():
        if torch.cuda.is_available():
            return torch.device("cuda", int(setting))
        setting = "auto"
    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(setting)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError(f"device: {setting!r} asks for CUDA, but no CUDA GPU is available here. Use device: auto or cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SettingsError(f"device: {setting!r} asks for Apple MPS, which is not available here. Use device: auto or cpu.")
    return device


def cpu_supports_bf16() -> bool:
    """Whether the CPU has native bf16 matrix instructions (otherwise bf16 autocast is slower than fp32)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(setting: Precision, device: torch.device) -> torch.dtype:
    """The perceptors' compute dtype: ``auto`` is fp16 on CUDA, bf16 on CPUs with native bf16, else fp32."""
    if setting is Precision.AUTO:
        if device.type == "cuda":
            return torch.float16
        if device.type == "cpu" and cpu_supports_bf16():
            return torch.bfloat16
        return torch.float32
    dtype = {Precision.FP32: torch.float32, Precision.BF16: torch.bfloat16, Precision.FP16: torch.float16}[setting]
    if dtype is torch.float16 and device.type == "cpu":
        raise SettingsError("precision: fp16 is not supported on the CPU; use bf16, fp32 or auto.")
    return dtype
