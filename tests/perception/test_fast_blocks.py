"""The fast transformer block computes exactly what open_clip's ResidualAttentionBlock computes."""

from __future__ import annotations

import copy

import open_clip
import pytest
import torch
import torch.nn.functional as F

from dreamloom.perception import fast_paths
from dreamloom.perception.fast_paths import (
    FastResidualBlock,
    accelerate,
    accelerate_blocks,
    matmul_attention,
    uses_matmul_attention,
)

CPU = torch.device("cpu")


def _tiny(image_size: int = 16) -> open_clip.CLIP:
    """A tiny CLIP with every parameter random: open_clip starts attention biases at zero, which would hide
    a dropped bias."""
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=16,
        vision_cfg=open_clip.CLIPVisionCfg(layers=2, width=32, head_width=8, patch_size=8, image_size=image_size),
        text_cfg=open_clip.CLIPTextCfg(context_length=12, vocab_size=100, width=32, heads=4, layers=2),
    ).double().eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model


@pytest.fixture(params=["matmul", "sdpa"])
def attention_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a float64 test through either attention path (float64 itself always takes SDPA)."""
    if request.param == "matmul":
        monkeypatch.setitem(fast_paths._CPU_MATMUL_ATTENTION_LIMIT, torch.float64, 64)
    return request.param


def _causal(length: int) -> torch.Tensor:
    return torch.full((length, length), float("-inf"), dtype=torch.float64).triu(1)


@pytest.mark.parametrize("image_size", [16, 72])  # 5 and 82 tokens
def test_same_outputs_and_state_dict_keys(attention_path: str, image_size: int) -> None:
    tokens_per_image = (image_size // 8) ** 2 + 1
    assert uses_matmul_attention(tokens_per_image, torch.float64, CPU) == (attention_path == "matmul" and image_size == 16)
    plain = _tiny(image_size)
    fast = copy.deepcopy(plain)
    assert accelerate_blocks(fast) == 4
    assert sum(isinstance(m, FastResidualBlock) for m in fast.modules()) == 4
    assert list(fast.state_dict()) == list(plain.state_dict())
    images = torch.rand(3, 3, image_size, image_size, dtype=torch.float64)
    tokens = torch.randint(1, 100, (2, 12))
    assert torch.allclose(plain.encode_image(images), fast.encode_image(images), atol=1e-12)
    assert torch.allclose(plain.encode_text(tokens), fast.encode_text(tokens), atol=1e-12)  # causal mask


@pytest.mark.parametrize("image_size", [16, 72])
def test_input_gradients_match(attention_path: str, image_size: int) -> None:
    plain = _tiny(image_size)
    fast = copy.deepcopy(plain)
    accelerate_blocks(fast)
    grads = []
    for model in (plain, fast):
        images = torch.rand(2, 3, image_size, image_size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        images.requires_grad_(True)
        model.encode_image(images).square().sum().backward()
        grads.append(images.grad)
    assert torch.allclose(grads[0], grads[1], atol=1e-12)


def test_a_boolean_mask_keeps_the_true_positions_as_sdpa_does() -> None:
    block = FastResidualBlock(_tiny().visual.transformer.resblocks[0])
    x = torch.rand(2, 5, 32, dtype=torch.float64)
    keep = torch.rand(5, 5, generator=torch.Generator().manual_seed(3)) > 0.4
    keep.fill_diagonal_(True)
    additive = torch.zeros(5, 5, dtype=torch.float64).masked_fill(~keep, float("-inf"))
    assert torch.allclose(block(x, attn_mask=keep), block(x, attn_mask=additive), atol=1e-12)
    assert not torch.allclose(block(x, attn_mask=keep), block(x), atol=1e-3)


def _bf16_autocast() -> torch.autocast:
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_under_autocast_the_block_computes_what_open_clip_computes() -> None:
    plain = _tiny().float()
    fast = copy.deepcopy(plain)
    accelerate_blocks(fast)
    images = torch.rand(3, 3, 16, 16)
    with _bf16_autocast():
        expected, value = plain.encode_image(images), fast.encode_image(images)
    assert value.dtype == expected.dtype
    assert torch.allclose(value.float(), expected.float(), atol=2e-2, rtol=2e-2)


def test_weights_are_cast_once_and_recast_after_an_in_place_change() -> None:
    block = FastResidualBlock(_tiny().float().visual.transformer.resblocks[0])
    x = torch.rand(2, 5, 32)
    with _bf16_autocast():
        first = block(x)
        cast = block._cast[1]
        assert all(w.dtype == torch.bfloat16 for w in cast)
        again = block(x)
        assert block._cast[1] is cast  # kept, not cast again
        with torch.no_grad():
            block.mlp.c_proj.bias.add_(1.0)
        changed = block(x)
    assert torch.equal(first, again)
    assert torch.allclose(changed.float() - first.float(), torch.ones_like(x), atol=0.05)


def test_without_autocast_the_block_uses_its_own_weights() -> None:
    block = FastResidualBlock(_tiny().float().visual.transformer.resblocks[0])
    block(torch.rand(1, 5, 32))
    assert block._cast is None


@pytest.mark.parametrize("length", [9, 70])
def test_a_long_or_short_causal_sequence_attends_as_open_clip(attention_path: str, length: int) -> None:
    plain = _tiny().transformer.resblocks[0]
    block = FastResidualBlock(copy.deepcopy(plain))
    x = torch.rand(2, length, 32, dtype=torch.float64)
    mask = _causal(length)
    assert torch.allclose(block(x, attn_mask=mask), plain(x, attn_mask=mask), atol=1e-12)


def test_a_long_sequence_under_autocast_takes_its_float_mask_in_the_compute_dtype() -> None:
    plain = _tiny().float().transformer.resblocks[0]
    block = FastResidualBlock(copy.deepcopy(plain))
    x, mask = torch.rand(1, 330, 32), _causal(330).float()
    assert not uses_matmul_attention(330, torch.bfloat16, CPU)
    with _bf16_autocast():
        value, expected = block(x, attn_mask=mask), plain(x, attn_mask=mask)
    assert torch.allclose(value.float(), expected.float(), atol=5e-2)


@pytest.mark.parametrize(("length", "sdpa_calls"), [(5, 0), (64, 0), (65, 1), (82, 1)])
def test_short_sequences_skip_the_fused_kernel(monkeypatch: pytest.MonkeyPatch, length: int, sdpa_calls: int) -> None:
    monkeypatch.setitem(fast_paths._CPU_MATMUL_ATTENTION_LIMIT, torch.float64, 64)
    calls = []
    original = F.scaled_dot_product_attention
    monkeypatch.setattr(F, "scaled_dot_product_attention", lambda *a, **k: calls.append(1) or original(*a, **k))
    block = FastResidualBlock(_tiny().visual.transformer.resblocks[0])
    block(torch.rand(3, length, 32, dtype=torch.float64))
    assert len(calls) == sdpa_calls


@pytest.mark.parametrize("given", ["key", "value", "both"])
def test_cross_attention_is_refused(given: str) -> None:
    block = FastResidualBlock(_tiny().visual.transformer.resblocks[0])
    x = torch.rand(1, 3, 32, dtype=torch.float64)
    other = {"key": {"k_x": x.clone()}, "value": {"v_x": x.clone()}, "both": {"k_x": x.clone(), "v_x": x}}[given]
    with pytest.raises(ValueError, match="^FastResidualBlock only computes self-attention$"):
        block(x, **other)


def test_cross_attention_blocks_are_not_swapped() -> None:
    model = _tiny()
    model.visual.transformer.resblocks[0].ln_1_kv = torch.nn.LayerNorm(32)
    assert accelerate_blocks(model) == 3
    assert not isinstance(model.visual.transformer.resblocks[0], FastResidualBlock)


def test_matmul_attention_is_chosen_for_short_sequences_on_the_cpu_only() -> None:
    assert uses_matmul_attention(50, torch.bfloat16, CPU)  # ViT-B/32 at 224 px
    assert uses_matmul_attention(257, torch.bfloat16, CPU)  # ViT-L/14 at 224 px
    assert not uses_matmul_attention(577, torch.bfloat16, CPU)  # ViT-L/14 at 336 px
    assert uses_matmul_attention(320, torch.bfloat16, CPU) and not uses_matmul_attention(321, torch.bfloat16, CPU)
    assert uses_matmul_attention(50, torch.float16, CPU)
    assert not uses_matmul_attention(1, torch.float32, CPU)  # no gain in fp32, and more memory
    assert not uses_matmul_attention(1, torch.float64, CPU)
    assert not uses_matmul_attention(50, torch.float16, torch.device("cuda"))


@pytest.mark.parametrize("mask_kind", ["none", "bool", "additive"])
def test_matmul_attention_equals_sdpa_with_its_softmax_in_float32(mask_kind: str) -> None:
    generator = torch.Generator().manual_seed(4)
    q, k, v = (torch.randn(2, 3, 7, 16, generator=generator, dtype=torch.float64) for _ in range(3))
    keep = torch.rand(7, 7, generator=generator) > 0.3
    keep.fill_diagonal_(True)
    mask = {"none": None, "bool": keep, "additive": torch.zeros(7, 7, dtype=torch.float64).masked_fill(~keep, -1e9)}
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[mask_kind])
    assert torch.allclose(matmul_attention(q, k, v, mask[mask_kind]), expected, atol=1e-12)
    low = matmul_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), None)
    assert low.dtype == torch.bfloat16
    assert torch.allclose(low.double(), F.scaled_dot_product_attention(q, k, v), atol=0.05)


def test_accelerate_counts_every_swap_of_a_quick_gelu_vit() -> None:
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=16,
        quick_gelu=True,
        vision_cfg=open_clip.CLIPVisionCfg(layers=2, width=32, head_width=8, patch_size=8, image_size=16),
        text_cfg=open_clip.CLIPTextCfg(context_length=12, vocab_size=100, width=32, heads=4, layers=1),
    )
    assert accelerate(model) == {"blocks": 3, "patch projections": 1, "activations": 3}
    assert accelerate(model) == {"blocks": 0, "patch projections": 0, "activations": 0}  # idempotent
