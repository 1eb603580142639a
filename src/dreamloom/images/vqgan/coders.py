"""VQGAN encoder and decoder (taming's ``Encoder``/``Decoder``), built from a :class:`VQGANSpec`.

Module paths (``down.{i}.block.{b}``, ``up.{i}.attn.{b}``, ``mid.block_1`` ...) reproduce the checkpoint
layout of image-models.md §6.5. Attention is placed by the *nominal* resolution ``spec.resolution``
halved per level, so it sits at the lowest level whatever the real input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dreamloom.images.vqgan.blocks import AttnBlock, Downsample, ResnetBlock, Upsample, group_norm
from dreamloom.images.vqgan.spec import VQGANSpec


class _Level(nn.Module):
    """One resolution level: residual blocks, their optional attention blocks, and a resampler."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.ModuleList()
        self.attn = nn.ModuleList()

    def run(self, h: torch.Tensor) -> torch.Tensor:
        for index, block in enumerate(self.block):
            h = block(h)
            if len(self.attn) > 0:
                h = self.attn[index](h)
        return h


class _Middle(nn.Module):
    """Resnet → attention → resnet at the lowest resolution."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels, groups)
        self.attn_1 = AttnBlock(channels, groups)
        self.block_2 = ResnetBlock(channels, channels, groups)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(h)))


def _level(spec: VQGANSpec, in_ch: int, out_ch: int, n_blocks: int, resolution: int) -> _Level:
    level = _Level()
    for index in range(n_blocks):
        level.block.append(ResnetBlock(in_ch if index == 0 else out_ch, out_ch, spec.norm_groups))
        if resolution in spec.attn_resolutions:
            level.attn.append(AttnBlock(out_ch, spec.norm_groups))
    return level


class Encoder(nn.Module):
    """Image to continuous latent, downsampling by ``spec.downsample_factor``.

    Shape: [B, in_channels, H, W] -> [B, z_channels, H/f, W/f]
    """

    def __init__(self, spec: VQGANSpec) -> None:
        super().__init__()
        widths = [spec.ch * m for m in (1, *spec.ch_mult)]
        self.conv_in = nn.Conv2d(spec.in_channels, spec.ch, 3, padding=1)
        self.down = nn.ModuleList()
        resolution = spec.resolution
        for i in range(len(spec.ch_mult)):
            level = _level(spec, widths[i], widths[i + 1], spec.num_res_blocks, resolution)
            if i != len(spec.ch_mult) - 1:
                level.downsample = Downsample(widths[i + 1])
                resolution //= 2
            self.down.append(level)
        self.mid = _Middle(widths[-1], spec.norm_groups)
        self.norm_out = group_norm(widths[-1], spec.norm_groups)
        self.conv_out = nn.Conv2d(widths[-1], spec.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level.run(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """Continuous (quantised) latent to image, upsampling by ``spec.downsample_factor``.

    ``up[i]`` is indexed by resolution level (``up.0`` = full resolution) but run from the lowest level
    up. No output activation: values are roughly in [-1, 1].
    Shape: [B, z_channels, h, w] -> [B, out_ch, h·f, w·f]
    """

    def __init__(self, spec: VQGANSpec) -> None:
        super().__init__()
        n_levels = len(spec.ch_mult)
        block_in = spec.ch * spec.ch_mult[-1]
        resolution = spec.resolution // spec.downsample_factor
        self.conv_in = nn.Conv2d(spec.z_channels, block_in, 3, padding=1)
        self.mid = _Middle(block_in, spec.norm_groups)
        levels: list[_Level] = []
        for i in reversed(range(n_levels)):
            block_out = spec.ch * spec.ch_mult[i]
            level = _level(spec, block_in, block_out, spec.num_res_blocks + 1, resolution)
            if i != 0:
                level.upsample = Upsample(block_out)
                resolution *= 2
            levels.insert(0, level)
            block_in = block_out
        self.up = nn.ModuleList(levels)
        self.norm_out = group_norm(block_in, spec.norm_groups)
        self.conv_out = nn.Conv2d(block_in, spec.out_ch, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level.run(h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))
