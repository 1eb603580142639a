"""Pure tensor functions behind the Limited Palette image model (pytti-core ``PixelImage``).

Conventions (image-models.md §5): a *palette tensor* has shape [P, N, 3] — P colours per palette, N
palettes, RGB last; ``value`` is the per-pixel brightness [H, W]; ``logits`` are per-pixel palette scores
[N, H, W]. Raw palette parameters live in "inertia units" [0, 2]; the colours shown are half of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dreamloom.images.grad_tricks import replace_grad

PALETTE_INERTIA = 2.0
"""Raw palette values are this many times the displayed colour, which slows palette learning (pytti)."""

HSP_WEIGHTS = (0.299, 0.587, 0.114)
"""Channel weights of HSP perceived brightness (alienryderflex.com/hsp.html), as pytti uses them."""


def clamp_keeping_edge_grad(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp whose gradient passes inside the *closed* range [low, high] and is zero outside it.

    pytti's palette gradients (test vector T5) were produced by a torch whose ``clamp`` passed the
    gradient at the boundaries; current torch zeroes it there, so the old behaviour is spelled out.

    Shape: [*] -> [*]
    """
    inside = (x >= low) & (x <= high)
    return torch.where(inside, x, x.detach().clamp(low, high))


def grey_ramp_palette(
    palette_size: int, palettes: int, gamma: float, *, device: torch.device | None, dtype: torch.dtype
) -> torch.Tensor:
    """pytti's initial palette: entry k of every palette and channel is ``(2k/(P−1))^gamma`` (§5.1).

    Entries above 2 (gamma > 1) are left as they are until the first projection clamps them.

    Shape: -> [P, N, 3]
    """
    ramp = torch.linspace(0.0, PALETTE_INERTIA, palette_size, device=device, dtype=dtype).pow(gamma)
    return ramp[:, None, None].expand(palette_size, palettes, 3).clone()


def hsp_brightness_squared(rgb: torch.Tensor) -> torch.Tensor:
    """Squared HSP brightness ``0.299·R² + 0.587·G² + 0.114·B²`` of colours in the last dimension.

    Shape: [*, 3] -> [*]
    """
    weights = rgb.new_tensor(HSP_WEIGHTS)
    return (rgb.square() * weights).sum(-1)


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """Square root whose gradient is 0 (not NaN) at 0, so a pure-black palette entry cannot poison Adam.

    Shape: [*] -> [*]
    """
    positive = x > 0
    root = torch.where(positive, x, torch.ones_like(x)).sqrt()
    return torch.where(positive, root, torch.zeros_like(x))


def sorted_display_palette(raw_palette: torch.Tensor) -> torch.Tensor:
    """Displayed colours of each palette, darkest first (pytti ``sort_pallet``, §5.2).

    Colours are ``clamp(raw/2, 0, 1)``; every palette is sorted on its own by squared HSP brightness
    (stable sort). Gradients flow back to the chosen raw entries.

    Shape: [P, N, 3] -> [P, N, 3]
    """
    colours = clamp_keeping_edge_grad(raw_palette / PALETTE_INERTIA, 0.0, 1.0)
    order = hsp_brightness_squared(colours.detach()).argsort(dim=0, stable=True)
    return colours.gather(0, order[..., None].expand_as(colours))


def decode_palette_pixels(palette: torch.Tensor, value: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Hard palette picture forward, soft palette mixture backward (pytti ``decode_tensor``, §5.3).

    Forward: each pixel shows entry ``round(v)`` of the palette with the largest logit (first on ties),
    where ``v = clamp(value, 0, 1)·(P−1)``. Backward: the gradient of ``0.5·soft + 0.5·hard``, with
    ``soft`` the softmax(logits)-weighted mix of each palette's linear interpolation between entries
    floor(v) and ceil(v). The mix over palettes is done first, as one matmul for every entry, so only two
    entries per pixel are gathered afterwards (4× faster than gathering every palette's entries).

    Shape: palette [P, N, 3], value [H, W], logits [N, H, W] -> [3, H, W]
    """
    entries, palettes, _ = palette.shape
    level = (clamp_keeping_edge_grad(value, 0.0, 1.0) * (entries - 1)).reshape(1, 1, -1)
    low = level.detach().floor()
    frac = level - low
    gather_shape = (1, 3, level.shape[-1])
    low_idx = low.long().expand(gather_shape)
    high_idx = level.detach().ceil().long().expand(gather_shape)

    scores = logits.reshape(palettes, -1)
    entry_mix = palette.permute(0, 2, 1).reshape(entries * 3, palettes) @ scores.softmax(dim=0)
    entry_mix = entry_mix.reshape(entries, 3, -1)
    soft = entry_mix.gather(0, low_idx) * (1 - frac) + entry_mix.gather(0, high_idx) * frac

    chosen = level.detach().round().long().reshape(-1) * palettes + scores.max(dim=0).indices
    hard = F.embedding(chosen, palette.reshape(entries * palettes, 3)).T[None]
    return replace_grad(hard, 0.5 * soft + 0.5 * hard).reshape(3, *value.shape)


def hdr_target(palette_size: int, palettes: int, gamma: float, *, device: torch.device | None,
               dtype: torch.dtype) -> torch.Tensor:
    """Brightness profile the HDR loss pulls every sorted palette toward: ``(k/(P−1))^gamma`` (§5.6).

    Shape: -> [P, N]
    """
    ramp = torch.linspace(0.0, 1.0, palette_size, device=device, dtype=dtype).pow(gamma)
    return ramp[:, None].expand(palette_size, palettes).clone()


def hdr_raw(sorted_palette: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE between each sorted entry's HSP brightness and the gamma curve (pytti ``HdrLoss``, §5.6).

    Shape: sorted_palette [P, N, 3], target [P, N] -> []
    """
    brightness = safe_sqrt(hsp_brightness_squared(sorted_palette))
    return (brightness - target).square().mean()


def palette_normalization_raw(logits: torch.Tensor) -> torch.Tensor:
    """Decorrelate palette usage and keep each palette's usage varied (pytti ``PalletLoss``, §5.6).

    With X the softmax shares (M pixels × N palettes): mean of the off-diagonal correlation matrix
    (1/M covariance over unbiased standard deviations, diagonal counted as zeros) plus mean_j 1/(M·σ_j).
    A palette whose share is constant over all pixels gives inf/NaN, as in pytti.

    Shape: [N, H, W] -> []
    """
    palettes = logits.shape[0]
    shares = logits.softmax(dim=0).reshape(palettes, -1)
    pixels = shares.shape[1]
    centred = shares - shares.mean(dim=1, keepdim=True)
    sigma = shares.std(dim=1, correction=1)
    covariance = centred @ centred.T / pixels
    off_diagonal = 1 - torch.eye(palettes, device=logits.device, dtype=logits.dtype)
    correlation = covariance / (sigma[:, None] * sigma[None, :]) * off_diagonal
    return correlation.mean() + (1 / (pixels * sigma)).mean()
