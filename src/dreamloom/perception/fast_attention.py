"""Self-attention for open_clip's transformer blocks through 2-D projections and fused SDPA.

``nn.MultiheadAttention`` projects with 3-D matmuls whose backward expands the weight for every batch
element; on CPU under bf16 autocast that ``copy_``/``bmm`` traffic is over half of a ViT's backward
(DESIGN.md, performance principles). The replacement keeps the very same parameters (same state-dict keys)
and computes the same function: one ``[B·L, C] @ [C, 3C]`` projection, ``scaled_dot_product_attention``,
and one output projection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PackedSelfAttention", "accelerate_attention"]


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
