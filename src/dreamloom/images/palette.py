"""The "Limited Palette" image model: pixel art drawn from a few small palettes (pytti-core ``PixelImage``).

Every low-resolution pixel stores a brightness and one score per palette; it shows the entry of its
highest-scoring palette nearest to its brightness. The pick is hard in the forward pass and a soft mixture
for the gradients (image-models.md §5). The decoded picture is nearest-upscaled by ``pixel_size``.

Deliberate differences from pytti (see docs/image-models.md): the lock flag is saved in the backup
(``pallet_locked``), ``pallet_target`` starts at zeros, a fitted target palette is stored back into
``pallet`` in raw units (×2) and is fitted with the image's own gamma, the HDR loss's square root has a
zero (not NaN) gradient at black, and a single palette skips the (always NaN) normalisation term.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from dreamloom.draws import uniform_like
from dreamloom.errors import SettingsError
from dreamloom.images.base import ImageModel
from dreamloom.images.palette_losses import HdrLoss, PaletteNormLoss
from dreamloom.images.palette_math import (
    PALETTE_INERTIA,
    decode_palette_pixels,
    grey_ramp_palette,
    hsp_brightness_squared,
    sorted_display_palette,
)
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.direct import hsv_channels

SWATCH_SIZE = (16, 32)
"""(width, height) in pixels of one colour in the palette swatch, as pytti's ``render_pallet``."""
FIT_STEPS = 201
"""Adam steps of pytti's nested image guide in the smart encode (§5.7)."""
FIT_LR = 0.1
"""Learning rate of that guide (the palette and the logits only; brightness is not optimised)."""
FIT_HDR_WEIGHT = 0.01
"""HDR weight pytti substitutes for the user's while encoding."""


def _check_positive(**values: int) -> None:
    for name, number in values.items():
        if number < 1:
            raise SettingsError(f"{name} must be a positive integer for the Limited Palette model, got {number}")


class LimitedPaletteImage(ImageModel):
    """``palettes`` palettes of ``palette_size`` colours painted on a ``width`` × ``height`` grid.

    Parameters (pytti names, kept for backups): ``pallet`` [P, N, 3] raw colours in [0, 2],
    ``value`` [H, W] brightness in [0, 1], ``tensor`` [N, H, W] palette scores ≥ 0.
    """

    default_lr = 0.02
    latent_strength = 0.1

    pallet_target: torch.Tensor
    pallet_locked: torch.Tensor

    def __init__(
        self,
        width: int,
        height: int,
        pixel_size: int = 1,
        palette_size: int = 5,
        palettes: int = 20,
        gamma: float = 1.0,
        hdr_weight: float = 0.01,
        palette_normalization_weight: float = 0.2,
        random_initial_palette: bool = False,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        _check_positive(width=width, height=height, pixel_size=pixel_size, palette_size=palette_size,
                        palettes=palettes)
        self.width, self.height, self.pixel_size = width, height, pixel_size
        self.gamma = gamma
        self.random_initial_palette = random_initial_palette
        device = torch.device(device) if device is not None else None
        kind = {"device": device, "dtype": dtype}
        self.pallet = nn.Parameter(grey_ramp_palette(palette_size, palettes, gamma, **kind))
        self.value = nn.Parameter(torch.zeros(height, width, **kind))
        self.tensor = nn.Parameter(torch.zeros(palettes, height, width, **kind))
        self.register_buffer("pallet_target", torch.zeros(palette_size, palettes, 3, **kind))
        self.register_buffer("pallet_locked", torch.tensor(False, device=device))
        self._locked = False
        self.hdr_loss = HdrLoss(palette_size, palettes, gamma, hdr_weight, **kind) if hdr_weight != 0 else None
        self.loss = PaletteNormLoss(palette_normalization_weight, **kind)
        self.normalize_palettes = palette_normalization_weight != 0 and palettes > 1
        self.register_load_state_dict_pre_hook(_keep_lock_flag_if_absent)
        self.register_load_state_dict_post_hook(_read_lock_flag)

    @property
    def output_size(self) -> tuple[int, int]:
        return self.height * self.pixel_size, self.width * self.pixel_size

    @property
    def palette_locked(self) -> bool:
        """Whether the palette is frozen (``lock_palette`` or a fitted ``target_palette``).

        Mirrored in a Python flag so that decoding never waits on the device to read the buffer.
        """
        return self._locked

    def display_palette(self) -> torch.Tensor:
        """Colours in use, darkest first per palette: the locked target or the sorted live palette.

        Shape: -> [P, N, 3] in [0, 1]
        """
        if self.palette_locked:
            return self.pallet_target
        return sorted_display_palette(self.pallet)

    def decode_grid(self) -> torch.Tensor:
        """The picture at grid resolution, one colour per ``pixel_size`` block. Shape: [1, 3, H, W]"""
        return decode_palette_pixels(self.display_palette(), self.value, self.tensor)[None]

    def decode_training(self) -> torch.Tensor:
        return F.interpolate(self.decode_grid(), size=self.output_size, mode="nearest")

    def regularizers(self, hdr_weight: float | None = None) -> dict[str, torch.Tensor]:
        """Weighted HDR and palette-normalisation terms (§5.6); ``hdr_weight`` overrides the HDR weight.

        A zero weight skips its term, as pytti's loss wrapper returns 0 for weight 0. With a single palette
        the normalisation term is skipped too: that palette's share is always 1, which makes pytti's term NaN.
        """
        terms: dict[str, torch.Tensor] = {}
        if self.hdr_loss is not None:
            weight = self.hdr_loss.weight if hdr_weight is None else hdr_weight
            terms["hdr"] = weight * self.hdr_loss.raw(self.display_palette())
        if self.normalize_palettes:
            terms["palette_normalization"] = self.loss(self.tensor)
        return terms

    @torch.no_grad()
    def after_step(self) -> None:
        """pytti's projection: palette into [0, 2], brightness into [0, 1], scores non-negative (§5.4)."""
        self.pallet.clamp_(0, PALETTE_INERTIA)
        self.value.clamp_(0, 1)
        self.tensor.clamp_(min=0)

    @torch.no_grad()
    def encode_random(self, generator: torch.Generator) -> None:
        """Uniform [0, 1) brightness and scores; with ``random_initial_palette`` uniform [0, 2) colours (§5.5)."""
        self.value.copy_(uniform_like(self.value, generator))
        self.tensor.copy_(uniform_like(self.tensor, generator))
        if self.random_initial_palette:
            self.pallet.copy_(uniform_like(self.pallet, generator) * PALETTE_INERTIA)

    def encode_image(self, image: Image.Image, smart_encode: bool = True) -> None:
        """Brightness from the picture's HSP luminance, then (``smart_encode``) pytti's palette fit (§5.7).

        ``smart_encode=False`` only replaces the brightness, which the video-source mode uses on a locked
        palette.
        """
        small = picture_to_tensor(image, (self.width, self.height), device=self.value.device,
                                  dtype=self.value.dtype)
        with torch.no_grad():
            self.value.copy_(hsp_brightness_squared(small[0].permute(1, 2, 0)).sqrt())
        if smart_encode:
            height, width = self.output_size
            target = picture_to_tensor(image, (width, height), device=self.value.device, dtype=self.value.dtype)
            self._fit_to_picture(target)

    def _fit_to_picture(self, target: torch.Tensor) -> None:
        """Fit the palette and logits to ``target`` in place, as pytti's 201-step smart encode does (§5.7).

        Each step minimises ``MSE(HSV5(decode), HSV5(target)) + 0.01·HDR_raw + palette-normalisation``,
        then applies the projection. A locked palette receives no gradient, so only logits move. The
        decode is constant on each ``pixel_size`` block, so that MSE equals, up to a constant, the MSE
        between the grid and the target's block means: the fit runs on the grid with pytti's gradients.

        Shape: target [1, 3, H, W] at the output size.
        """
        target_hsv = F.avg_pool2d(hsv_channels(target), self.pixel_size)
        optimiser = torch.optim.Adam([self.pallet, self.tensor], lr=FIT_LR)
        with torch.enable_grad():
            for _ in range(FIT_STEPS):
                optimiser.zero_grad(set_to_none=True)
                decoded_hsv = hsv_channels(self.decode_grid())
                loss = (decoded_hsv - target_hsv).square().mean()
                for term in self.regularizers(hdr_weight=FIT_HDR_WEIGHT).values():
                    loss = loss + term
                loss.backward()
                optimiser.step()
                self.after_step()
        for parameter in self.parameters():
            parameter.grad = None

    def fit_palette(self, image: Image.Image) -> None:
        """Fit a palette to ``image`` and lock it: pytti's ``target_palette`` (§5.8).

        A copy of the model is smart-encoded (with this model's gamma) and its sorted palette becomes the
        locked target; this model's brightness and scores are untouched.
        """
        scratch = copy.deepcopy(self)
        scratch.lock_palette(False)
        scratch.encode_image(image)
        with torch.no_grad():
            fitted = scratch.display_palette()
            self.pallet_target.copy_(fitted)
            self.pallet.copy_(fitted * PALETTE_INERTIA)
        self._set_locked(True)

    @torch.no_grad()
    def lock_palette(self, lock: bool = True) -> None:
        """Freeze the current sorted palette (``lock_palette``) or release the lock (§5.8)."""
        if lock:
            self.pallet_target.copy_(self.display_palette())
        self._set_locked(lock)

    def palette_swatch(self) -> Image.Image:
        """The palettes as a picture for ``show_palette``: palette j in column j, darkest entry on top.

        Each colour is a 16 × 32 block; values are truncated to 8 bits as pytti does (§5.9).
        """
        palette = self.display_palette().detach()
        entries, palettes = palette.shape[:2]
        pixels = palette.mul(255).clamp(0, 255).to(torch.uint8).cpu().numpy()
        swatch = Image.fromarray(pixels, "RGB")
        return swatch.resize((palettes * SWATCH_SIZE[0], entries * SWATCH_SIZE[1]), Image.NEAREST)

    def get_image_tensor(self) -> torch.Tensor:
        """Brightness stacked on the palette scores, the grid animation warps move. Shape: [1+N, H, W]"""
        return torch.cat([self.value[None], self.tensor], dim=0)

    @torch.no_grad()
    def set_image_tensor(self, tensor: torch.Tensor) -> None:
        """Write back a warped [1+N, H, W] grid; it is clamped by the next :meth:`after_step`."""
        self.value.copy_(tensor[0])
        self.tensor.copy_(tensor[1:])

    @torch.no_grad()
    def warp_state(self, warp: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Warp brightness and palette scores together, keeping the palette (pytti's Pixel warp, §2.2).

        Nothing is clamped here: the next :meth:`after_step` does it, and decoding clamps brightness.

        Shape: warp [1, 1+N, height, width] -> [1, 1+N, height, width]
        """
        self.set_image_tensor(warp(self.get_image_tensor()[None])[0])

    @torch.no_grad()
    def _set_locked(self, lock: bool) -> None:
        self.pallet_locked.fill_(lock)
        self._locked = lock


def _keep_lock_flag_if_absent(module: LimitedPaletteImage, state_dict: dict[str, Any], prefix: str,
                              *_: Any) -> None:
    """Let pytti backups, which have no lock flag, load strictly: the model keeps its current flag."""
    state_dict.setdefault(prefix + "pallet_locked", module.pallet_locked.clone())


def _read_lock_flag(module: LimitedPaletteImage, _incompatible_keys: Any) -> None:
    """Refresh the Python mirror of the lock flag after a backup was loaded."""
    module._locked = bool(module.pallet_locked)
