"""pytti's "smart encode" of a picture into a Limited Palette image (image-models.md §5.7).

Brightness is copied from the picture; palettes and per-pixel palette scores are then fitted by gradient
descent so that the hard-quantised decode matches the picture's colours in pytti's 5-channel HSV space.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from dreamloom.losses.direct import hsv_channels

if TYPE_CHECKING:
    from dreamloom.images.palette import LimitedPaletteImage

FIT_STEPS = 201
"""Adam steps of pytti's nested image guide."""
FIT_LR = 0.1
"""Learning rate of that guide (the palette and the logits only; brightness is not optimised)."""
FIT_HDR_WEIGHT = 0.01
"""HDR weight pytti substitutes for the user's while encoding."""


def fit_palette_to_picture(model: LimitedPaletteImage, target: torch.Tensor) -> None:
    """Fit ``model``'s palette and logits to ``target`` in place, as pytti's 201-step encode does.

    Each step minimises ``MSE(HSV5(decode), HSV5(target)) + 0.01·HDR_raw + palette-normalisation``,
    then applies the model's projection. A locked palette receives no gradient, so only logits move.
    The decode is constant on each ``pixel_size`` block, so that MSE equals, up to a constant, the MSE
    between the grid and the target's block means: the fit runs on the grid with pytti's gradients.

    Shape: target [1, 3, H, W] at the model's output size.
    """
    target_hsv = F.avg_pool2d(hsv_channels(target), model.pixel_size)
    optimiser = torch.optim.Adam([model.pallet, model.tensor], lr=FIT_LR)
    with torch.enable_grad():
        for _ in range(FIT_STEPS):
            optimiser.zero_grad(set_to_none=True)
            decoded_hsv = hsv_channels(model.decode_grid())
            loss = (decoded_hsv - target_hsv).square().mean()
            for term in model.regularizers(hdr_weight=FIT_HDR_WEIGHT).values():
                loss = loss + term
            loss.backward()
            optimiser.step()
            model.after_step()
    for parameter in model.parameters():
        parameter.grad = None
