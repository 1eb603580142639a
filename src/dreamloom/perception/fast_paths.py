"""Faster drop-ins for the parts of open_clip models that dominate a perceptor's forward and backward.

Each keeps the original's parameters (same state-dict keys) and computes the same function; :func:`accelerate`
swaps all of them into a model in place.

* :class:`FastResidualBlock` replaces a transformer block. Its projections are 2-D matrix products
  (``nn.MultiheadAttention``'s 3-D ones expand the weight for every batch element in the backward pass);
  under autocast it keeps its weights already cast to the compute dtype instead of casting them again on
  every call; and in bf16 on a CPU short sequences (every CLIP ViT at 224 px) attend through plain batched
  matrix products, whose backward is several times faster than the fused SDPA kernel's.
* :class:`PatchProjection` computes the patch embedding (a convolution whose kernel equals its stride) as one
  matrix product over the image's non-overlapping patches; on a CPU its input gradient is several times
  cheaper than the convolution's backward.
* :class:`LeanQuickGELU` keeps only its input for the backward pass instead of three tensors of the MLP's
  width (about a quarter of a ViT-B/32's activation memory) and computes its derivative in five passes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FastResidualBlock",
    "LeanQuickGELU",
    "PatchProjection",
    "accelerate",
    "accelerate_blocks",
    "accelerate_patches",
    "lean_activations",
    "matmul_attention",
    "uses_matmul_attention",
]

#: Longest sequence attended through batched matrix products on a CPU, by compute dtype. Measured on a
#: 2-core AMD EPYC (Zen 4, AVX512-BF16), 12 heads of 64, forward+backward: in bf16 the products take 16 %
#: of the fused kernel's time at 50 tokens, 43 % at 197, 47 % at 257 and 115 % at 577 (a whole ViT-B/32
#: pass on 32 cutouts: 3.35 s against 3.85 s). In fp32 they gain nothing on a whole pass (7.00 s against
#: 6.99 s at 50 tokens, slower from 197) and keep the attention matrices for the backward pass (about
#: 130 MB more at 512², 40 cutouts), so fp32 always uses SDPA.
_CPU_MATMUL_ATTENTION_LIMIT = {torch.bfloat16: 320, torch.float16: 320}


def uses_matmul_attention(length: int, dtype: torch.dtype, device: torch.device) -> bool:
    """Whether a sequence of ``length`` tokens attends through batched matrix products rather than SDPA.

    Only on a CPU: CUDA's and MPS's fused kernels beat plain products at every length.
    """
    return device.type == "cpu" and length <= _CPU_MATMUL_ATTENTION_LIMIT.get(dtype, 0)


def matmul_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax attention as two batched matrix products, the softmax in float32 at least (as SDPA).

    ``mask`` is boolean (True attends) or additive. Shape: [B, H, L, d] each -> [B, H, L, d].
    """
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = scores.softmax(dim=-1, dtype=torch.promote_types(scores.dtype, torch.float32)).to(v.dtype)
    return torch.matmul(weights, v)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax attention by the faster way for this length, dtype and device. Shape: [B, H, L, d] each."""
    if uses_matmul_attention(q.shape[-2], q.dtype, q.device):
        return matmul_attention(q, k, v, mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class FastResidualBlock(nn.Module):
    """Drop-in for open_clip's self-attention ``ResidualAttentionBlock`` (batch first, no cross-attention).

    Under autocast its projection weights are cast once per dtype and device and kept (recast only if a
    weight is changed in place); in float32 they are used as they are. Shape: [B, L, C] -> [B, L, C].
    """

    def __init__(self, original: nn.Module) -> None:
        super().__init__()
        self.ln_1, self.attn, self.ls_1 = original.ln_1, original.attn, original.ls_1
        self.ln_2, self.mlp, self.ls_2 = original.ln_2, original.mlp, original.ls_2
        self.heads = int(original.attn.num_heads)
        self._cast: tuple[tuple, list[torch.Tensor]] | None = None

    def get_weight_dtype(self) -> torch.dtype:
        """The parameters' dtype (open_clip's text tower asks its blocks for it)."""
        return self.mlp.c_fc.weight.dtype

    def _source_weights(self) -> list[torch.Tensor]:
        attn, mlp = self.attn, self.mlp
        return [attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight, attn.out_proj.bias,
                mlp.c_fc.weight, mlp.c_fc.bias, mlp.c_proj.weight, mlp.c_proj.bias]

    def _weights(self, device_type: str) -> list[torch.Tensor]:
        """The projection weights in the compute dtype: autocast's when it is on, cast once and kept."""
        source = self._source_weights()
        if not torch.is_autocast_enabled(device_type):
            return source
        dtype = torch.get_autocast_dtype(device_type)
        key = (dtype, source[0].device, tuple(w._version for w in source))
        if self._cast is None or self._cast[0] != key:
            self._cast = (key, [w.detach().to(dtype) for w in source])
        return self._cast[1]

    def forward(
        self,
        q_x: torch.Tensor,
        k_x: torch.Tensor | None = None,
        v_x: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if k_x is not None or v_x is not None:
            raise ValueError("FastResidualBlock only computes self-attention")
        in_w, in_b, out_w, out_b, fc_w, fc_b, proj_w, proj_b = self._weights(q_x.device.type)
        batch, length, width = q_x.shape
        qkv = F.linear(self.ln_1(q_x).reshape(batch * length, width), in_w, in_b)
        q, k, v = qkv.view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        mask = attn_mask if attn_mask is None or attn_mask.dtype == torch.bool else attn_mask.to(q.dtype)
        attended = _attend(q, k, v, mask).transpose(1, 2).reshape(batch * length, width)
        x = q_x + self.ls_1(F.linear(attended, out_w, out_b).view(batch, length, width))
        hidden = self.mlp.gelu(F.linear(self.ln_2(x).reshape(batch * length, width), fc_w, fc_b))
        return x + self.ls_2(F.linear(hidden, proj_w, proj_b).view(batch, length, width))


def _swappable(block: nn.Module) -> bool:
    attn = getattr(block, "attn", None)
    return (
        type(block).__name__ == "ResidualAttentionBlock"
        and isinstance(attn, nn.MultiheadAttention)
        and attn.batch_first
        and attn.in_proj_weight is not None
        and attn.in_proj_bias is not None
        and not hasattr(block, "ln_1_kv")
        and [name for name, _ in block.mlp.named_children()] == ["c_fc", "gelu", "c_proj"]
    )


def accelerate_blocks(model: nn.Module) -> int:
    """Swap every open_clip ``ResidualAttentionBlock`` in place (both towers); returns how many."""
    count = 0
    for module in list(model.modules()):
        for name, child in module.named_children():
            if _swappable(child):
                setattr(module, name, FastResidualBlock(child))
                count += 1
    return count


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
    """``x·σ(1.702·x)`` saving only ``x``; the backward recomputes the sigmoid (cheap next to the matmuls).

    The derivative ``σ·(1 + a·(1 − σ))`` with ``a = 1.702·x`` is built in place: two new tensors and five
    passes over the MLP's activations instead of eight of each.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.sigmoid(x * 1.702).mul_(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        scaled = x * 1.702
        gate = torch.sigmoid(scaled)
        scaled.addcmul_(scaled, gate, value=-1.0)  # a·(1 − σ)
        return gate.addcmul_(gate, scaled).mul_(grad)  # σ + σ·a·(1 − σ), times the incoming gradient


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


def accelerate(model: nn.Module) -> dict[str, int]:
    """Swap every fast path into an open_clip model in place; returns how many of each were swapped."""
    return {
        "blocks": accelerate_blocks(model),
        "patch projections": accelerate_patches(model),
        "activations": lean_activations(model),
    }
