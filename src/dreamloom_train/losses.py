"""The contrastive and ranking losses of the demo perceptor's renderer-view phase."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from dreamloom_train.batches import Batch
from dreamloom_train.captions import Match


def contrastive_loss(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Multi-positive CLIP loss: -log of the probability mass on true pairs, both directions.

    Undecidable pairs take no part; captions true of no view (contrast captions) only act as negatives.
    Shape: logits, truth [N, M] -> scalar.
    """
    valid = truth != int(Match.UNCLEAR)
    positive = truth == int(Match.TRUE)
    all_pairs = logits.masked_fill(~valid, -math.inf)
    true_pairs = logits.masked_fill(~positive, -math.inf)
    rows, used = positive.any(1), positive.any(0)
    image_to_text = all_pairs[rows].logsumexp(1) - true_pairs[rows].logsumexp(1)
    text_to_image = all_pairs[:, used].logsumexp(0) - true_pairs[:, used].logsumexp(0)
    return (image_to_text.mean() + text_to_image.mean()) / 2


def ranking_loss(image: torch.Tensor, text: torch.Tensor, batch: Batch, margin: float) -> torch.Tensor:
    """Hinges of ``margin · level`` cosine: a clean view must beat its degraded twin on its caption, and a
    twin blended towards a flat colour must beat the clean view on that colour's caption."""
    clean, twin, caption, towards = batch.twins.unbind(1)
    gap = (image[clean] * text[caption]).sum(1) - (image[twin] * text[caption]).sum(1)
    losses = F.relu(margin * batch.levels - gap)
    toward = towards >= 0
    if toward.any():
        colour = text[towards[toward]]
        pull = (image[twin[toward]] * colour).sum(1) - (image[clean[toward]] * colour).sum(1)
        losses = torch.cat([losses, F.relu(margin * batch.levels[toward] - pull)])
    return losses.mean()
