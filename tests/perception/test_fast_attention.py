"""The packed self-attention computes exactly what open_clip's nn.MultiheadAttention computes."""

from __future__ import annotations

import copy

import open_clip
import pytest
import torch

from dreamloom.perception.fast_attention import PackedSelfAttention, accelerate_attention


def _tiny() -> open_clip.CLIP:
    torch.manual_seed(0)
    return open_clip.CLIP(
        embed_dim=16,
        vision_cfg=open_clip.CLIPVisionCfg(layers=2, width=32, head_width=8, patch_size=8, image_size=16),
        text_cfg=open_clip.CLIPTextCfg(context_length=12, vocab_size=100, width=32, heads=4, layers=2),
    ).double().eval()


def test_same_outputs_and_state_dict_keys() -> None:
    plain = _tiny()
    fast = copy.deepcopy(plain)
    assert accelerate_attention(fast) == 4
    assert list(fast.state_dict()) == list(plain.state_dict())
    images = torch.rand(3, 3, 16, 16, dtype=torch.float64)
    tokens = torch.randint(1, 100, (2, 12))
    assert torch.allclose(plain.encode_image(images), fast.encode_image(images), atol=1e-12)
    assert torch.allclose(plain.encode_text(tokens), fast.encode_text(tokens), atol=1e-12)  # causal mask


def test_input_gradients_match() -> None:
    plain = _tiny()
    fast = copy.deepcopy(plain)
    accelerate_attention(fast)
    grads = []
    for model in (plain, fast):
        images = torch.rand(2, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        images.requires_grad_(True)
        model.encode_image(images).square().sum().backward()
        grads.append(images.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-12)


def test_cross_attention_is_refused() -> None:
    attention = PackedSelfAttention(torch.nn.MultiheadAttention(8, 2, batch_first=True))
    x = torch.rand(1, 3, 8)
    with pytest.raises(ValueError, match="self-attention"):
        attention(x, x.clone(), x)
