"""dreamloom's own VQGAN first stage: encoder, quantiser, decoder and the 1×1 convs between them.

Parameter names and shapes equal those of taming-transformers ``VQModel``/``GumbelVQ`` checkpoints
(image-models.md §6.5) so original weights load with a strict ``load_state_dict``; the training loss and
discriminator are not part of it.
"""

from __future__ import annotations

import torch
from torch import nn

from dreamloom.images.vqgan.coders import Decoder, Encoder
from dreamloom.images.vqgan.quantize import GumbelQuantizer, VectorQuantizer
from dreamloom.images.vqgan.spec import VQGANSpec


class VQGAN(nn.Module):
    """A VQGAN first stage built from its :class:`VQGANSpec` (the loader freezes pretrained ones).

    ``encode`` maps pictures in [-1, 1] to quantised latents; ``decode`` maps latents back to pictures
    in roughly [-1, 1]. Build on the ``meta`` device (``with torch.device("meta")``) to inspect layouts
    without allocating weights.
    """

    def __init__(self, spec: VQGANSpec) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = Encoder(spec)
        self.decoder = Decoder(spec)
        if spec.gumbel:
            self.quantize: nn.Module = GumbelQuantizer(spec.z_channels, spec.n_embed, spec.embed_dim)
        else:
            self.quantize = VectorQuantizer(spec.n_embed, spec.embed_dim)
        self.quant_conv = nn.Conv2d(spec.z_channels, spec.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(spec.embed_dim, spec.z_channels, 1)

    @property
    def codebook(self) -> torch.Tensor:
        """The code vectors latents are snapped to. Shape: [n_embed, embed_dim]"""
        return self.quantize.codebook

    @property
    def downsample_factor(self) -> int:
        """Pixels per latent token along each side."""
        return self.spec.downsample_factor

    def encode(self, pixels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Quantised latent of a picture (taming ``encode``); ``generator`` only matters for Gumbel models.

        Shape: [B, 3, H, W] in [-1, 1] -> [B, embed_dim, H/f, W/f]
        """
        return self.quantize(self.quant_conv(self.encoder(pixels)), generator)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Picture of a (quantised) latent (taming ``decode``).

        Shape: [B, embed_dim, h, w] -> [B, 3, h·f, w·f], values roughly in [-1, 1]
        """
        return self.decoder(self.post_quant_conv(latent))
