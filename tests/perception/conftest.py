"""Perceptors for the perception tests: a hand-computable colour perceptor and a tiny random open_clip."""

from __future__ import annotations

from collections.abc import Sequence

import open_clip
import pytest
import torch
from torch import nn

from dreamloom.dsl.grammar import parse_scenes
from dreamloom.dsl.tree import Scene
from dreamloom.perception.adapter import Perceptor

COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0), "sky": (0.0, 0.0, 1.0)}


class _ColourModel(nn.Module):
    """Embeds an image as its mean colour and a colour word as its RGB vector (D = 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.tensor(list(COLOURS.values())))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(2, 3))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.table[tokens[:, 0]]


def _colour_tokens(texts: Sequence[str]) -> torch.Tensor:
    names = list(COLOURS)
    return torch.tensor([[names.index(text)] for text in texts])


def colour_perceptor(input_size: int = 4) -> Perceptor:
    """Distances follow from colours by hand: d = angle²/2 between mean colour and word colour."""
    return Perceptor(
        _ColourModel(), _colour_tokens, name="colour", input_size=input_size,
        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), context_length=1,
    )


def scenes(text: str) -> tuple[Scene, ...]:
    return parse_scenes(text)


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
