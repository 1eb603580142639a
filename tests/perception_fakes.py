"""Hand-computable fakes for the perception tests (imported by test modules; fixtures live in conftest)."""

from __future__ import annotations

from collections.abc import Sequence

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
