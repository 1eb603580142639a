"""The "Unlimited Palette" image model: raw RGB values on a coarse grid (pytti-core ``RGBImage``, §4).

No squashing function: values may drift outside [0, 1] and are clamped on decode with
:func:`clamp_with_grad`, so a pixel pushed past the range can still be pulled back.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dreamloom.draws import uniform_like
from dreamloom.errors import SettingsError
from dreamloom.images.base import ImageModel
from dreamloom.images.grad_tricks import clamp_with_grad
from dreamloom.images.pictures import picture_to_tensor


class RGBImage(ImageModel):
    """A ``width`` × ``height`` RGB grid, nearest-upscaled by ``pixel_size`` for display and losses.

    Parameter (pytti's backup key): ``tensor`` [1, 3, height, width].
    """

    default_lr = 0.02
    latent_strength = 0.0

    def __init__(
        self,
        width: int,
        height: int,
        pixel_size: int = 1,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        for name, number in (("width", width), ("height", height), ("pixel_size", pixel_size)):
            if number < 1:
                raise SettingsError(f"{name} must be a positive integer for the Unlimited Palette model, "
                                    f"got {number}")
        self.width, self.height, self.pixel_size = width, height, pixel_size
        self.tensor = nn.Parameter(torch.zeros(1, 3, height, width, device=device, dtype=dtype))

    @property
    def output_size(self) -> tuple[int, int]:
        return self.height * self.pixel_size, self.width * self.pixel_size

    def decode_training(self) -> torch.Tensor:
        upscaled = F.interpolate(self.tensor, size=self.output_size, mode="nearest")
        return clamp_with_grad(upscaled, 0.0, 1.0)

    @torch.no_grad()
    def encode_image(self, image: Image.Image) -> None:
        """Store ``image`` resized to the grid with LANCZOS (pytti ``RGBImage.encode_image``)."""
        grid = picture_to_tensor(image, (self.width, self.height), device=self.tensor.device,
                                 dtype=self.tensor.dtype)
        self.tensor.copy_(grid)

    @torch.no_grad()
    def encode_random(self, generator: torch.Generator) -> None:
        """Independent U[0, 1) colour values, drawn on the generator's device."""
        self.tensor.copy_(uniform_like(self.tensor, generator))

    def get_image_tensor(self) -> torch.Tensor:
        """The colour grid animation warps move. Shape: [3, height, width]"""
        return self.tensor[0]

    @torch.no_grad()
    def set_image_tensor(self, tensor: torch.Tensor) -> None:
        """Write back a warped [3, height, width] grid."""
        self.tensor.copy_(tensor[None])

    @torch.no_grad()
    def warp_state(self, warp: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Warp the colour grid itself, unclamped, as pytti does; motion is in grid pixels.

        Shape: warp [1, 3, height, width] -> [1, 3, height, width]
        """
        self.tensor.copy_(warp(self.tensor))
