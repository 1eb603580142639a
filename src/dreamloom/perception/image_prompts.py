"""Image prompts: embed the prompt image once through random cutouts, then compare cutouts by position.

Source: pytti-core ``LocationAwareMCIP`` (prompts-and-perceptors.md §3.3). Each step, every stored cutout is
paired with the current cutout whose centre is nearest under an optimal one-to-one assignment
(``scipy.optimize.linear_sum_assignment``), and the distance gets pytti's +0.7 offset, which also shifts
what a stop compares against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom.perception.views import PerceptorDraw, draw_views, embed_views

__all__ = ["IMAGE_PROMPT_OFFSET", "ImageTarget", "embed_image_prompt", "match_cutouts", "image_prompt_distances"]

IMAGE_PROMPT_OFFSET = 0.7


@dataclass(frozen=True)
class ImageTarget:
    """The stored cutouts of an image prompt, per perceptor. Centres are CPU image fractions.

    Shape: embeddings[c] [n, D_c], centres[c] [n, 2].
    """

    embeddings: Sequence[torch.Tensor]
    centres: Sequence[torch.Tensor]


@torch.no_grad()
def embed_image_prompt(
    image: torch.Tensor,
    perceptors: Sequence[Perceptor],
    settings: CutoutSettings,
    generator: torch.Generator,
) -> ImageTarget:
    """Embed ``image`` at its own size through one random draw of ``settings.per_batch`` cutouts.

    Shape: image [1, 3, H, W] in [0, 1].
    """
    image_hw = (image.shape[-2], image.shape[-1])
    embeddings, centres = [], []
    for perceptor in perceptors:
        draw = draw_views(generator, settings, settings.per_batch, image_hw, perceptor)
        embeddings.append(embed_views(image.to(perceptor.device), draw, perceptor, settings))
        centres.append(draw.cutouts.centers.detach().cpu())
    return ImageTarget(embeddings=embeddings, centres=centres)


def match_cutouts(stored: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """Index of the current cutout paired with each stored one (minimum total centre distance).

    Shape: stored [n, 2], current [n, 2] (CPU) -> [n] int64.
    """
    cost = cdist(stored.double().numpy(), current.double().numpy())
    rows, cols = linear_sum_assignment(cost)
    order = np.empty_like(cols)
    order[rows] = cols
    return torch.from_numpy(order).long()


def image_prompt_distances(
    target: ImageTarget, embeddings: Sequence[torch.Tensor], draws: Sequence[PerceptorDraw]
) -> torch.Tensor:
    """Distances between stored and matched current cutouts, all perceptors concatenated (no offset).

    Shape: embeddings[c] [n, D_c] -> [M].
    """
    distances = []
    for stored, stored_centres, current, draw in zip(target.embeddings, target.centres, embeddings, draws):
        order = match_cutouts(stored_centres, draw.cutouts.centers.cpu()).to(current.device, non_blocking=True)
        distances.append(spherical_distance(current.index_select(0, order), stored))
    return torch.cat(distances)
