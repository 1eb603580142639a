"""The VQGAN network's numerics on tiny random weights: shapes, quantisation, attention, Gumbel encoding."""

from __future__ import annotations

import dataclasses

import torch
from vqgan_tiny import TINY, are_codebook_rows, tiny_network

from dreamloom.images.vqgan.blocks import AttnBlock
from dreamloom.images.vqgan.quantize import nearest_code_indices, vector_quantize


def _is_codebook_row(latent: torch.Tensor, codebook: torch.Tensor) -> bool:
    """Whether every channel vector of ``latent`` [B, D, h, w] equals some codebook row."""
    return are_codebook_rows(latent.permute(0, 2, 3, 1).reshape(-1, codebook.shape[1]), codebook)


def test_encode_decode_round_trips_shapes() -> None:
    network = tiny_network()
    pixels = torch.rand(2, 3, 16, 24) * 2 - 1
    with torch.no_grad():
        latent = network.encode(pixels)
        decoded = network.decode(latent)
    assert latent.shape == (2, TINY.embed_dim, 8, 12)
    assert _is_codebook_row(latent, network.codebook)
    assert decoded.shape == pixels.shape
    assert torch.isfinite(decoded).all()


def test_nearest_code_indices_match_brute_force() -> None:
    generator = torch.Generator().manual_seed(3)
    codebook = torch.randn(10, 4, generator=generator)
    latent = torch.randn(2, 5, 6, 4, generator=generator)
    expected = torch.cdist(latent.reshape(-1, 4), codebook).argmin(dim=1).reshape(2, 5, 6)
    assert torch.equal(nearest_code_indices(latent, codebook), expected)


def test_vector_quantize_is_straight_through() -> None:
    codebook = torch.tensor([[0.0, 0.0], [1.0, 1.0], [-2.0, 3.0]])
    latent = torch.tensor([[[0.9, 1.2], [-1.5, 2.0], [0.1, -0.2]]], requires_grad=True)
    quantized = vector_quantize(latent, codebook)
    assert torch.equal(quantized.detach(), codebook[[1, 2, 0]][None])
    weights = torch.arange(6.0).reshape(1, 3, 2)
    (quantized * weights).sum().backward()
    assert torch.equal(latent.grad, weights)


def test_attention_equals_the_taming_formula() -> None:
    torch.manual_seed(1)
    block = AttnBlock(8, groups=4)
    x = torch.randn(2, 8, 3, 5)
    h = block.norm(x)
    q, k, v = (conv(h).reshape(2, 8, 15) for conv in (block.q, block.k, block.v))
    weights = torch.softmax(q.transpose(1, 2) @ k / 8**0.5, dim=2)
    expected = x + block.proj_out((v @ weights.transpose(1, 2)).reshape(2, 8, 3, 5))
    torch.testing.assert_close(block(x), expected)


def test_gumbel_encoding_takes_the_best_code_or_a_seeded_sample() -> None:
    network = tiny_network(dataclasses.replace(TINY, gumbel=True))
    pixels = torch.rand(1, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        logits = network.quantize.proj(network.quant_conv(network.encoder(pixels)))
        best = network.encode(pixels)
        sampled = [network.encode(pixels, torch.Generator().manual_seed(seed)) for seed in (5, 5, 6)]
    assert torch.equal(best, network.codebook[logits.argmax(dim=1)].permute(0, 3, 1, 2))
    assert torch.equal(sampled[0], sampled[1])
    assert all(_is_codebook_row(latent, network.codebook) for latent in sampled)
