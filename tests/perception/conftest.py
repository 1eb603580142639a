"""Shared fixtures for the perception tests: a tiny random open_clip perceptor."""

from __future__ import annotations


import open_clip
import pytest
import torch

from dreamloom.perception.adapter import Perceptor


@pytest.fixture(autouse=True)
def _one_thread(single_thread: None) -> None:
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def tiny_clip() -> Perceptor:
    """A random 2-layer open_clip CLIP at 32 px with the real tokenizer (context 77)."""
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=32,
        vision_cfg=open_clip.CLIPVisionCfg(layers=1, width=32, head_width=16, patch_size=8, image_size=32),
        text_cfg=open_clip.CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2, layers=1),
    )
    return Perceptor(
        model, open_clip.get_tokenizer("ViT-B-32-quickgelu"), name="tiny", input_size=32,
        mean=open_clip.OPENAI_DATASET_MEAN, std=open_clip.OPENAI_DATASET_STD, context_length=77,
    )
