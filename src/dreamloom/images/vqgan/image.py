"""The "VQGAN" image model: a picture held as a VQGAN latent (image-models.md §6.6).

The optimised parameter is the continuous latent *before* quantisation, channels-last
``[1, tokens_y, tokens_x, embed_dim]``. Every decode snaps it to the nearest codebook vectors with a
straight-through gradient, runs the frozen decoder and maps [-1, 1] to [0, 1].

The network is deliberately not a registered submodule: backups (``state_dict``) hold only the latent and
the EMA buffers, as pytti's do, and ``parameters()`` is only the latent. So that ``.to(device)``,
``.cuda()`` or ``.half()`` still move it, :meth:`VQGANImage._apply` forwards those conversions to the
network too (a network shared by several images therefore moves with each of them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image

from dreamloom.draws import integers
from dreamloom.errors import SettingsError
from dreamloom.images.ema import EMAImage
from dreamloom.images.grad_tricks import clamp_with_grad
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.images.vqgan.network import VQGAN
from dreamloom.images.vqgan.quantize import vector_quantize
from dreamloom.losses.latent import latent_loss


class VQGANImage(EMAImage):
    """A picture of ``width × height`` times ``pixel_size`` pixels, rounded down to whole latent tokens.

    As in pytti, ``pixel_size`` only enlarges the render (image-models.md §2.2). Gumbel models learn at
    0.15 by default, the others at 0.1. Call :meth:`encode_random` or :meth:`encode_image` to initialise.
    """

    default_lr = 0.1
    latent_strength = 1.0

    def __init__(
        self, network: VQGAN, width: int, height: int, pixel_size: int = 1, ema_decay: float = 0.99
    ) -> None:
        factor = network.downsample_factor
        tokens_x, tokens_y = width * pixel_size // factor, height * pixel_size // factor
        if tokens_x < 1 or tokens_y < 1:
            raise SettingsError(
                f"width/height: {width}×{height} at pixel_size {pixel_size} is smaller than one VQGAN token "
                f"({factor}×{factor} pixels); make the image at least {factor} pixels on each side"
            )
        codebook = network.codebook
        super().__init__(codebook.new_zeros(1, tokens_y, tokens_x, codebook.shape[1]), ema_decay)
        network.requires_grad_(False).eval()
        # Plain attribute, not a submodule: keeps the network out of state_dict() and parameters().
        object.__setattr__(self, "network", network)
        if network.spec.gumbel:
            self.default_lr = 0.15

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> VQGANImage:
        """Convert the network along with the latent (device and dtype moves go through ``_apply``)."""
        super()._apply(fn, recurse)
        self.network._apply(fn, recurse)
        return self

    @property
    def output_size(self) -> tuple[int, int]:
        _, tokens_y, tokens_x, _ = self.tensor.shape
        factor = self.network.downsample_factor
        return tokens_y * factor, tokens_x * factor

    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """Quantise straight-through, decode, map [-1, 1] to [0, 1] with a gradient-keeping clamp.

        Shape: [1, h, w, D] -> [1, 3, h·f, w·f]
        """
        quantized = vector_quantize(latent, self.network.codebook)
        pixels = self.network.decode(quantized.permute(0, 3, 1, 2))
        return clamp_with_grad((pixels + 1) / 2, 0.0, 1.0)

    def get_latent(self) -> torch.Tensor:
        """The quantised current latent, gradient straight through to the parameter (for the latent loss).

        Shape: -> [1, D, h, w]
        """
        return vector_quantize(self.tensor, self.network.codebook).permute(0, 3, 1, 2)

    @torch.no_grad()
    def latent_of_image(self, image: Image.Image) -> torch.Tensor:
        """The quantised latent of a picture at this model's size; the state is left untouched (pytti
        ``make_latent``). Gumbel models take the most likely code, so encoding is repeatable.

        Shape: -> [1, D, h, w]
        """
        height, width = self.output_size
        pixels = picture_to_tensor(image, (width, height), device=self.tensor.device, dtype=self.tensor.dtype)
        return self.latent_of_pixels(pixels)

    @torch.no_grad()
    def latent_of_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """The quantised latent of a picture already at this model's size, values in [0, 1].

        Shape: [1, 3, H, W] -> [1, D, h, w]
        """
        return self.network.encode(pixels * 2 - 1)

    def direct_loss(self, target: Image.Image, mask: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
        """pytti's latent loss: the latent term reaches the parameter directly, the pixel term through the
        decoded picture."""
        height, width = self.output_size
        pixels = picture_to_tensor(target, (width, height), device=self.tensor.device, dtype=torch.float32)
        target_latent = self.latent_of_image(target)
        return lambda decoded: latent_loss(self.get_latent(), target_latent, decoded, pixels, mask)

    @torch.no_grad()
    def encode_image(self, image: Image.Image) -> None:
        self.tensor.copy_(self.latent_of_image(image).permute(0, 2, 3, 1))
        self.reset_average()

    @torch.no_grad()
    def warp_state(self, warp: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Warp the displayed picture and re-encode it, resetting the average (pytti's fallback, §2.2).

        The picture stays in floating point: pytti's 8-bit round trip truncates, darkening every frame by
        half a level on average. Motion is in output pixels.

        Shape: warp [1, 3, H, W] -> [1, 3, H, W]
        """
        latent = self.latent_of_pixels(warp(self.decode()).clamp(0, 1))
        self.tensor.copy_(latent.permute(0, 2, 3, 1))
        self.reset_average()

    @torch.no_grad()
    def encode_random(self, generator: torch.Generator) -> None:
        """Every token a codebook vector drawn uniformly from all codes (pytti ``rand_latent``)."""
        codebook = self.network.codebook
        count = self.tensor.shape[1] * self.tensor.shape[2]
        indices = integers(generator, codebook.shape[0], (count,), codebook.device)
        self.tensor.copy_(codebook[indices].reshape(self.tensor.shape))
        self.reset_average()
