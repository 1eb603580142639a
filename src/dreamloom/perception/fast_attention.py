"""Self-attention for open_clip's transformer blocks through 2-D projections and fused SDPA.

``nn.MultiheadAttention`` projects with 3-D matmuls whose backward expands the weight for every batch
element; on CPU under bf16 autocast that ``copy_``/``bmm`` traffic is over half of a ViT's backward
(DESIGN.md, performance principles). The replacement keeps the very same parameters (same state-dict keys)
and computes the same function: one ``[B·L, C] @ [C, 3C]`` projection, ``scaled_dot_product_attention``,
and one output projection.

The module also holds the ViT's other fast paths. :class:`PatchProjection` computes the patch embedding
(a convolution whose kernel equals its stride) as one matrix product over the image's non-overlapping
patches; on CPU its input gradient is several times cheaper than the convolution's backward.
:class:`LeanQuickGELU` keeps only its input for the backward pass instead of three tensors of the MLP's
width, about a quarter of a ViT-B/32's activation memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LeanQuickGELU",
    "PackedSelfAttention",
    "PatchProjection",
    "accelerate_attention",
    "accelerate_patches",
    "lean_activations",
]


class PackedSelfAttention(nn.Module):
    """Drop-in for a batch-first self-attention ``nn.MultiheadAttention`` (no cross-attention, no weights out).

    Shape: query [B, L, C] -> ([B, L, C], None).
    """

    def __init__(self, original: nn.MultiheadAttention) -> None:
        super().__init__()
        self.num_heads = original.num_heads
        self.in_proj_weight = original.in_proj_weight
        self.in_proj_bias = original.in_proj_bias
        self.out_proj = original.out_proj

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        need_weights: bool = False,
        attn_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, None]:
        if key is not query or value is not query or need_weights:
            raise ValueError("PackedSelfAttention only computes self-attention without attention weights")
        batch, length, width = query.shape
        qkv = F.linear(query.reshape(batch * length, width), self.in_proj_weight, self.in_proj_bias)
        q, k, v = qkv.view(batch, length, 3, self.num_heads, width // self.num_heads).permute(2, 0, 3, 1, 4)
        if attn_mask is not None:
            attn_mask = attn_mask.to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        out = out.transpose(1, 2).reshape(batch * length, width)
        return F.linear(out, self.out_proj.weight, self.out_proj.bias).view(batch, length, width), None


def _swappable(block: nn.Module) -> bool:
    attn = getattr(block, "attn", None)
    return (
        isinstance(attn, nn.MultiheadAttention)
        and attn.batch_first
        and attn.in_proj_weight is not None
        and not hasattr(block, "ln_1_kv")
        and type(block).__name__ == "ResidualAttentionBlock"
    )


def accelerate_attention(model: nn.Module) -> int:
    """Swap the self-attention of every open_clip ``ResidualAttentionBlock`` in place; returns how many."""
    blocks = [module for module in model.modules() if _swappable(module)]
    for block in blocks:
        block.attn = PackedSelfAttention(block.attn)
    return len(blocks)


class PatchProjection(nn.Module):
    """Drop-in for a patch-embedding ``nn.Conv2d`` (kernel = stride, no padding, dilation or groups).

    Keeps the convolution's parameters (same state-dict keys). Like the convolution it ignores the pixels
    of a partial patch at the right and bottom edges. Returns a channels-last view.
    Shape: [B, C, H, W] -> [B, D, H // p, W // p].
    """

    def __init__(self, original: nn.Conv2d) -> None:
        super().__init__()
        self.patch = int(original.kernel_size[0])
        self.weight = original.weight
        self.bias = original.bias

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = images.shape
        p = self.patch
        rows, cols = height // p, width // p
        images = images[:, :, : rows * p, : cols * p]
        patches = images.reshape(batch, channels, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5)
        flat = patches.reshape(batch * rows * cols, channels * p * p)
        out = F.linear(flat, self.weight.reshape(self.weight.shape[0], -1), self.bias)
        return out.view(batch, rows, cols, -1).permute(0, 3, 1, 2)


def _is_patch_conv(module: nn.Module) -> bool:
    return (
        type(module) is nn.Conv2d
        and module.kernel_size[0] == module.kernel_size[1] == module.stride[0] == module.stride[1]
        and module.padding in ((0, 0), "valid")
        and module.dilation == (1, 1)
        and module.groups == 1
    )


def accelerate_patches(model: nn.Module) -> int:
    """Swap a ViT tower's patch-embedding convolution (``visual.conv1`` in open_clip) in place; 0 or 1."""
    visual = getattr(model, "visual", None)
    conv = getattr(visual, "conv1", None)
    if visual is None or conv is None or not _is_patch_conv(conv):
        return 0
    visual.conv1 = PatchProjection(conv)
    return 1


class _QuickGELUFunction(torch.autograd.Function):
    """``x·σ(1.702·x)`` saving only ``x``; the backward recomputes the sigmoid (cheap next to the matmuls)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return x * torch.sigmoid(1.702 * x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        gate = torch.sigmoid(1.702 * x)
        return grad * (gate + 1.702 * x * gate * (1 - gate))


class LeanQuickGELU(nn.Module):
    """Drop-in for open_clip's ``QuickGELU`` (OpenAI CLIP's activation) with a smaller autograd footprint.

    Shape: any -> same.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _QuickGELUFunction.apply(x)


def lean_activations(model: nn.Module) -> int:
    """Swap every open_clip ``QuickGELU`` module in place; returns how many."""
    count = 0
    for module in list(model.modules()):
        for name, child in module.named_children():
            if type(child).__name__ == "QuickGELU":
                setattr(module, name, LeanQuickGELU())
                count += 1
    return count
