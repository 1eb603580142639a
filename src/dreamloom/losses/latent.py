"""The "direct" loss for VQGAN images: distance in latent space plus a little pixel distance.

pytti's ``LatentLoss`` (animation-losses-outputs.md §6.6): ``MSE(quantised latent, target latent)/2 +
MSE(picture, target picture)/10``. Masks weight both terms; unlike pytti, the pixel term keeps the
full-resolution mask instead of one blurred through the token grid.
"""

from __future__ import annotations

import torch

from dreamloom.losses.direct import masked_mse


def latent_loss(
    latent: torch.Tensor,
    target_latent: torch.Tensor,
    image: torch.Tensor,
    target_image: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """pytti's LatentLoss raw value: latent MSE / 2 + pixel MSE / 10.

    ``latent`` is the image model's quantised latent with straight-through gradient
    (``VQGANImage.get_latent()``), ``target_latent`` the target picture's (``latent_of_image``);
    ``image`` is the training decode and ``target_image`` the target at the same size.
    Shape: latent, target_latent [1, D, h, w]; image, target_image [1, 3, H, W]; mask [1, 1, Hm, Wm] -> []
    """
    return masked_mse(latent, target_latent, mask) / 2 + masked_mse(image, target_image, mask) / 10
