"""Colour paths: picture pairs on the way from one named colour to another, and their ranking loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dreamloom_train.captions import sample_caption
from dreamloom_train.config import CUT
from dreamloom_train.scenes import COLOURS, flat_view, jittered_rgb


@dataclass
class ColourPaths:
    """Pairs of pictures on the way from colour A to colour B, and the captions of A and B.

    Row k of ``pictures`` is pair k // 2, the second of a pair being further along (``amounts``). Half the
    pairs blend the whole picture; half cover a share of it equal to the amount with B, from a side drawn
    for each picture (so the second covers more area, not necessarily the first's area and more).
    Shape: pictures [2K, 3, 64, 64]; captions 2K texts (A, B per pair); amounts [K, 2].
    """

    pictures: torch.Tensor
    captions: list[str]
    amounts: torch.Tensor


def make_colour_paths(count: int, rng: np.random.Generator, gen: torch.Generator) -> ColourPaths:
    """Draw ``count`` pairs of pictures between two flat colours (see :class:`ColourPaths`)."""
    names = list(COLOURS)
    pictures, captions, amounts = [], [], []
    axis = (torch.arange(CUT, dtype=torch.float32) + 0.5) / CUT
    for k in range(count):
        first, second = rng.choice(len(names), size=2, replace=False)
        a, b = (torch.tensor(jittered_rgb(names[i], rng)).view(3, 1, 1) for i in (first, second))
        pair = np.sort(rng.uniform(0.0, 1.0, 2))
        for amount in pair:
            if k % 2 == 0:
                share = torch.full((1, CUT, CUT), float(amount))
            else:
                along = axis.view(1, 1, CUT) if rng.random() < 0.5 else axis.view(1, CUT, 1)
                share = (along < amount).float().expand(1, CUT, CUT)
                share = share if rng.random() < 0.5 else share.flip(-1).flip(-2)
            pictures.append(a + (b - a) * share)
        captions += [sample_caption(flat_view(names[i]), rng).text for i in (first, second)]
        amounts.append(pair)
    noisy = torch.stack(pictures) + 0.03 * torch.randn(2 * count, 3, CUT, CUT, generator=gen)
    return ColourPaths(noisy, captions, torch.tensor(np.array(amounts), dtype=torch.float32))


def path_loss(image: torch.Tensor, text: torch.Tensor, paths: ColourPaths, margin: float) -> torch.Tensor:
    """Hinges of ``margin ·`` the step: further along a path must score higher on B and lower on A.

    This grades the similarity between colours, so an image optimised from one colour towards another
    finds a slope to climb. Shape: image, text [2K, D] -> scalar.
    """
    near, far = image[0::2], image[1::2]
    first, second = text[0::2], text[1::2]
    step = paths.amounts[:, 1] - paths.amounts[:, 0]
    towards_b = (far * second).sum(1) - (near * second).sum(1)
    away_from_a = (near * first).sum(1) - (far * first).sum(1)
    return (F.relu(margin * step - towards_b) + F.relu(margin * step - away_from_a)).mean()
