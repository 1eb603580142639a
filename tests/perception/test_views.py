"""Embedding views: the memory-saving split of the augmentations changes neither values nor gradients."""

from __future__ import annotations

import torch
from gradient_check import value_and_input_gradient

from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.augment import apply_augmentations
from dreamloom.perception.cutouts import CutoutSettings, apply_cutouts
from dreamloom.perception.views import draw_views, embed_views


def test_embedded_views_equal_cut_augment_embed_in_one_go(tiny_clip: Perceptor) -> None:
    settings = CutoutSettings(cutouts=6, border_mode="mirror")
    draw = draw_views(torch.Generator().manual_seed(7), settings, 6, (40, 48), tiny_clip)
    image = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(8))
    value, grad = value_and_input_gradient(lambda x: embed_views(x, draw, tiny_clip, settings), image)
    expected, expected_grad = value_and_input_gradient(
        lambda x: tiny_clip.encode_image(
            apply_augmentations(apply_cutouts(x, draw.cutouts, tiny_clip.input_size, "mirror"), draw.augment)
        ),
        image,
    )
    assert torch.allclose(value, expected, atol=1e-6)
    assert torch.allclose(grad, expected_grad, atol=1e-6)
    assert grad.abs().sum() > 0
