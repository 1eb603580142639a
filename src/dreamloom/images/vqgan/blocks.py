"""Building blocks of the VQGAN first stage, named so their parameters match taming-transformers checkpoints.

Architecture of taming's ``diffusionmodules/model.py`` as described in image-models.md §6.4: GroupNorm +
swish residual blocks, single-head global self-attention, strided-conv downsampling and nearest-neighbour
upsampling. Attribute names (``norm1``, ``conv1``, ``nin_shortcut``, ``q``, ``proj_out``, ...) are part of
the checkpoint format and must not change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
    """taming's ``Normalize``: affine GroupNorm with eps 1e-6."""
    return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """Two norm → swish → 3×3 conv stages plus a (1×1-projected when widths differ) shortcut.

    Shape: [B, in_channels, H, W] -> [B, out_channels, H, W]
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels, groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        shortcut = self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x
        return shortcut + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all spatial positions, added back to the input.

    ``softmax(qᵀk / sqrt(C)) v`` as in taming's ``AttnBlock``, computed with fused attention.
    Shape: [B, C, H, W] -> [B, C, H, W]
    """

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = group_norm(channels, groups)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        h = self.norm(x)

        def tokens(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, 1, c, height * width).transpose(2, 3)

        attended = F.scaled_dot_product_attention(tokens(self.q(h)), tokens(self.k(h)), tokens(self.v(h)))
        attended = attended.transpose(2, 3).reshape(b, c, height, width)
        return x + self.proj_out(attended)


class Downsample(nn.Module):
    """Halve the resolution: pad right/bottom by one, then a stride-2 3×3 conv (taming's asymmetric pad).

    Shape: [B, C, H, W] -> [B, C, H/2, W/2]
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour ×2, then a 3×3 conv.

    Shape: [B, C, H, W] -> [B, C, 2H, 2W]
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
