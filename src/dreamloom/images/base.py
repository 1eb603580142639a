"""The interface every differentiable image model implements (Unlimited, Limited Palette, VQGAN).

The engine only talks to this interface: it optimises ``parameters()``, decodes for the losses, asks the
model for its own regularisers, and calls :meth:`ImageModel.after_step` once after every optimiser step.
Backups are the module's ``state_dict()``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import torch
from PIL import Image
from torch import nn

from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.direct import hsv_loss


class ImageModel(nn.Module, abc.ABC):
    """A picture represented by trainable parameters.

    Subclasses set ``default_lr`` (used when ``learning_rate`` is null) and ``latent_strength`` (weight of
    the latent term in flow losses); capabilities that only some models have (palettes, a latent) are
    methods with a neutral default, so the engine never asks what kind of model it holds.
    """

    default_lr: float = 0.02
    latent_strength: float = 0.0

    @property
    @abc.abstractmethod
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the decoded picture in pixels."""

    @abc.abstractmethod
    def decode_training(self) -> torch.Tensor:
        """The picture the losses and their gradients see. Shape: [1, 3, H, W], values in [0, 1]."""

    def decode(self) -> torch.Tensor:
        """The picture shown and saved (an average for EMA models). Shape: [1, 3, H, W] in [0, 1]."""
        return self.decode_training()

    @abc.abstractmethod
    def encode_image(self, image: Image.Image) -> None:
        """Overwrite the state so that the model shows ``image`` as closely as it can."""

    @abc.abstractmethod
    def encode_random(self, generator: torch.Generator) -> None:
        """Overwrite the state with the model's random initialisation, drawn from ``generator``."""

    def regularizers(self) -> dict[str, torch.Tensor]:
        """Weighted loss terms the model adds to every step (e.g. palette losses); empty by default."""
        return {}

    def after_step(self) -> None:
        """Hook run after each optimiser step (projections, EMA updates); no-op by default."""

    def fit_palette(self, image: Image.Image) -> None:
        """``target_palette``: take the palette from ``image``; models without a palette ignore it."""

    def lock_palette(self, lock: bool = True) -> None:
        """``lock_palette``: freeze (or release) the palette; models without a palette ignore it."""

    def palette_swatch(self) -> Image.Image | None:
        """The palette as a picture for ``show_palette``; None for models without a palette."""
        return None

    def direct_loss(self, target: Image.Image, mask: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
        """The model's preferred loss towards ``target`` (pytti ``get_preferred_loss``), for direct init,
        direct image prompts and stabilization: HSV on the decoded picture by default.

        The returned function maps the training picture [1, 3, H, W] to a scalar; ``mask`` is [1, 1, h, w]
        in [0, 1] (or None for the whole picture).
        """
        height, width = self.output_size
        pixels = picture_to_tensor(target, (width, height), device=next(self.parameters()).device, dtype=torch.float32)
        return lambda decoded: hsv_loss(decoded, pixels, mask)

    @torch.no_grad()
    def warp_state(self, warp: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Move the picture by a picture-space ``warp`` (an animation frame's motion).

        Default, pytti's fallback for models without a warpable grid (§0.3): warp the displayed picture,
        then re-encode it as an 8-bit image. Models with a pixel grid override this to warp the grid.

        Shape: warp [1, C, h, w] -> [1, C, h, w]
        """
        self.encode_image(tensor_to_pil(warp(self.decode())))

    def to_pil(self) -> Image.Image:
        """The displayed picture as an 8-bit RGB image (values truncated, as pytti saves them)."""
        return tensor_to_pil(self.decode())


def tensor_to_pil(picture: torch.Tensor) -> Image.Image:
    """An 8-bit RGB image of a picture, values clamped to [0, 1] and truncated, as pytti saves them.

    Shape: [1, 3, H, W] -> a W × H image
    """
    pixels = picture.detach()[0].clamp(0, 1).mul(255).to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy(), "RGB")
