"""Image models whose shown picture is a bias-corrected moving average of the optimised parameter.

pytti's ``EMAImage`` (image-models.md §3): losses see the raw parameter, while displayed and saved frames
decode its exponential moving average, which hides the step-to-step flicker of latent optimisation.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

from dreamloom.images.base import ImageModel


class EMAImage(ImageModel):
    """Holds the trainable ``tensor`` and the EMA buffers ``biased``, ``average`` and ``accum``.

    After each update ``accum ← accum·decay``, ``biased ← decay·biased + (1 − decay)·tensor`` and
    ``average ← biased / (1 − accum)`` — Adam-style bias correction, so right after a reset ``average``
    equals ``tensor``. The names match pytti's backups (image-models.md §2.5).
    """

    def __init__(self, tensor: torch.Tensor, decay: float) -> None:
        super().__init__()
        self.decay = decay
        self.tensor = nn.Parameter(tensor)
        self.register_buffer("biased", torch.zeros_like(tensor))
        self.register_buffer("average", torch.zeros_like(tensor))
        self.register_buffer("accum", torch.ones((), device=tensor.device, dtype=tensor.dtype))
        self.update_average()

    @abc.abstractmethod
    def decode_latent(self, latent: torch.Tensor) -> torch.Tensor:
        """The picture of a parameter-shaped tensor. Shape: tensor.shape -> [1, 3, H, W] in [0, 1]"""

    @torch.no_grad()
    def update_average(self) -> None:
        """Fold the current ``tensor`` into the moving average (pytti ``EMAImage.update``)."""
        self.accum.mul_(self.decay)
        self.biased.mul_(self.decay).add_(self.tensor, alpha=1 - self.decay)
        self.average.copy_(self.biased / (1 - self.accum))

    @torch.no_grad()
    def reset_average(self) -> None:
        """Forget the history so that ``average`` equals the current ``tensor`` (pytti ``reset``)."""
        self.biased.zero_()
        self.average.zero_()
        self.accum.fill_(1.0)
        self.update_average()

    def decode_training(self) -> torch.Tensor:
        """The raw parameter's picture, what the losses and their gradients see."""
        return self.decode_latent(self.tensor)

    def decode(self) -> torch.Tensor:
        """The moving average's picture, shown and saved."""
        return self.decode_latent(self.average)

    def after_step(self) -> None:
        self.update_average()
