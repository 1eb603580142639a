"""The interface every differentiable image model implements (Unlimited, Limited Palette, VQGAN).

The engine only talks to this interface: it optimises ``parameters()``, decodes for the losses, asks the
model for its own regularisers, and calls :meth:`ImageModel.after_step` once after every optimiser step.
Backups are the module's ``state_dict()``.
"""

from __future__ import annotations

import abc
import enum

import torch
from PIL import Image
from torch import nn


class DirectLoss(enum.Enum):
    """Which loss a model prefers for "direct" image targets (init image, direct prompts, stabilization)."""

    HSV = "hsv"
    LATENT = "latent"


class ImageModel(nn.Module, abc.ABC):
    """A picture represented by trainable parameters.

    Subclasses set ``default_lr`` (used when ``learning_rate`` is null), ``latent_strength`` (weight of
    the latent term in flow losses) and ``direct_loss``.
    """

    default_lr: float = 0.02
    latent_strength: float = 0.0
    direct_loss: DirectLoss = DirectLoss.HSV

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

    def get_image_tensor(self) -> torch.Tensor:
        """The low-level grid that animation warps move. Shape: [C, h, w]."""
        raise NotImplementedError(f"{type(self).__name__} has no warpable image tensor")

    def set_image_tensor(self, tensor: torch.Tensor) -> None:
        """Write back a warped grid from :meth:`get_image_tensor`."""
        raise NotImplementedError(f"{type(self).__name__} has no warpable image tensor")

    def to_pil(self) -> Image.Image:
        """The displayed picture as an 8-bit RGB image (values truncated, as pytti saves them)."""
        pixels = self.decode().detach()[0].clamp(0, 1).mul(255).to(torch.uint8)
        return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy(), "RGB")
