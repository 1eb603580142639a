"""Prompt masks: per-cutout stops and weights that say where on the image a prompt acts.

Every mask maps the cutouts of one micro-batch (all perceptors together, M = n·C entries) to
``(stops [M], weights [M])`` for :func:`dreamloom.perception.prompt_loss.prompt_loss`. Source: pytti-core
``Prompt.py`` (prompts-and-perceptors.md §1.4), with two fixes decided in DESIGN.md: masks receive offset and
size in the right order, and a semantic mask without a cutoff is an explicit absent value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom.video_frames import VideoFrames

__all__ = [
    "MaskInput",
    "PositionalMask",
    "SemanticMask",
    "ImageMask",
    "VideoMask",
    "LETTER_DEFAULT_CUTOFF",
    "semantic_threshold",
]

#: Threshold of the positional letters when the prompt gives no cutoff (pytti: its sentinel ≈ 0.5).
LETTER_DEFAULT_CUTOFF = 0.5
#: Longest side of a static mask image as held for the error-diffusion weighting (coarser is not needed).
MASK_SIDE = 256


@dataclass(frozen=True)
class MaskInput:
    """The cutouts a mask judges. ``offsets``/``sizes`` are CPU image fractions for all perceptors
    concatenated in perceptor order; ``embeddings[c]`` are perceptor c's detached cutout embeddings.

    Shape: offsets [M, 2], sizes [M, 2], embeddings[c] [n_c, D_c] with sum n_c = M.
    """

    offsets: torch.Tensor
    sizes: torch.Tensor
    embeddings: Sequence[torch.Tensor]
    device: torch.device


def _ones(inputs: MaskInput) -> torch.Tensor:
    return torch.ones(inputs.offsets.shape[0], device=inputs.device)


@dataclass(frozen=True)
class PositionalMask:
    """pytti's letters with offset and size in the right order: ``a`` acts everywhere, ``r`` acts on
    cutouts whose centre is right of the cutoff, ``l`` left, ``d`` below (y grows downward), ``u`` above,
    ``n`` only on cutouts larger than the cutoff ("near"), ``f`` only on smaller ones. Elsewhere stop = 1
    (off); the off-tests are strict comparisons, as in pytti.
    """

    letter: str

    def __call__(self, inputs: MaskInput, cutoff: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        if self.letter == "a":
            return torch.full_like(_ones(inputs), -math.inf), _ones(inputs)
        theta = LETTER_DEFAULT_CUTOFF if cutoff is None else cutoff
        centre = inputs.offsets + inputs.sizes / 2
        smallest = inputs.sizes.min(dim=1).values
        stop_when = {
            "r": centre[:, 0] < theta,
            "l": centre[:, 0] > theta,
            "d": centre[:, 1] < theta,
            "u": centre[:, 1] > theta,
            "n": smallest < theta,
            "f": smallest > theta,
        }[self.letter]
        stops = stop_when.to(torch.float32).to(inputs.device, non_blocking=True)
        return stops, _ones(inputs)


def semantic_threshold(cutoff: float) -> float:
    """pytti's map of a user cutoff in [0, 1] to a spherical-distance threshold in [0.7, 1] (§1.4)."""
    return 0.3 * cutoff + 0.7


@dataclass(frozen=True)
class SemanticMask:
    """A phrase compared with every cutout. Without a cutoff the stop is the cutout's distance to the phrase
    (continuous: the prompt acts while the cutout is farther from the prompt than from the phrase); with one,
    cutouts farther than ``0.3·cutoff + 0.7`` from the phrase get stop 1 (off), closer ones 0.

    ``phrase[c]`` is the phrase embedded by perceptor c. Shape: phrase[c] [D_c].
    """

    phrase: Sequence[torch.Tensor]

    def __call__(self, inputs: MaskInput, cutoff: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        distances = torch.cat(
            [spherical_distance(embeds.detach(), phrase) for embeds, phrase in zip(inputs.embeddings, self.phrase)]
        )
        if cutoff is None:
            return distances, _ones(inputs)
        return (distances > semantic_threshold(cutoff)).to(distances.dtype), _ones(inputs)


def _fit_mask(mask: torch.Tensor) -> torch.Tensor:
    """Area-average a [H, W] mask so its longer side is at most ``MASK_SIDE``."""
    height, width = mask.shape
    scale = MASK_SIDE / max(height, width)
    if scale >= 1:
        return mask
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(mask[None, None], size=size, mode="area")[0, 0]


class ImageMask:
    """A still greyscale image (bright = the prompt applies), weighted per cutout by pytti's error diffusion.

    Each cutout's weight is the mean of the mask over its rectangle plus a signed square-root error term;
    the residual of each cutout is diffused into a persistent error buffer, so over cutouts and steps the
    weights reproduce the mask's grey levels. Weights are divided by sqrt(mean mask). Source: pytti-core
    ``mask_image`` (§1.4), with rectangles ``[offset, offset + size]`` clipped to the image, so no border
    mode can give an empty slice (pytti's NaN). The error-diffusion visits cutouts one by one, on the CPU,
    in order of decreasing area: it is sequential by nature.
    Shape: mask [H, W] in [0, 1].
    """

    def __init__(self, mask: torch.Tensor, *, inverted: bool = False) -> None:
        self.set_image(mask, inverted=inverted)

    def set_image(self, mask: torch.Tensor, *, inverted: bool) -> None:
        """Replace the mask image and reset the error buffer (pytti installs a fresh mask per video frame)."""
        mask = _fit_mask(mask.detach().to("cpu", torch.float64).clamp(0, 1))
        self.mask = 1 - mask if inverted else mask
        self.mean = float(self.mask.mean())
        self.error = torch.zeros_like(self.mask)

    def _rectangles(self, inputs: MaskInput) -> torch.Tensor:
        """Pixel rectangles (x0, y0, x1, y1) clipped to the mask. Shape: [M, 4] int64."""
        height, width = self.mask.shape
        scale = torch.tensor([width, height], dtype=torch.float64)
        low = (inputs.offsets.double() * scale).floor()
        high = ((inputs.offsets + inputs.sizes).double() * scale).floor()
        limit = scale.long()
        low = torch.minimum(low.long().clamp(min=0), limit)
        high = torch.minimum(high.long().clamp(min=0), limit)
        return torch.cat([low, high], dim=1)

    def _diffuse(self, rectangles: list[list[int]]) -> list[float]:
        weights = [0.0] * len(rectangles)
        areas = [(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rectangles]
        count = len(rectangles)
        for index in sorted(range(count), key=lambda k: areas[k], reverse=True):
            x0, y0, x1, y1 = rectangles[index]
            if areas[index] <= 0:
                continue
            region, error = self.mask[y0:y1, x0:x1], self.error[y0:y1, x0:x1]
            weight = float((region + error.sign() * error.abs().sqrt()).mean())
            residual = region - weight
            error += residual.square() / count * residual.sign()
            weights[index] = weight
        return weights

    def __call__(self, inputs: MaskInput, cutoff: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        count = inputs.offsets.shape[0]
        stops = torch.full((count,), -math.inf, device=inputs.device)
        if self.mean < 0.001:
            return stops, torch.zeros(count, device=inputs.device)
        weights = torch.tensor(self._diffuse(self._rectangles(inputs).tolist()), dtype=torch.float32)
        weights = weights / math.sqrt(self.mean)
        return stops, weights.to(inputs.device, non_blocking=True)


class VideoMask(ImageMask):
    """An image mask whose picture follows a mask video: :meth:`show` installs frame n of ``frames``.

    Made with ``frames`` it shows frame 0 at once (pytti: before the first animation frame a video mask is
    its first frame); without, the prompt acts on the whole image until :meth:`set_frame` gives a picture.
    ``path`` is the video, for messages.
    """

    def __init__(self, path: str, *, inverted: bool = False, frames: VideoFrames | None = None) -> None:
        self.path = path
        self.inverted = inverted
        self.frames = frames
        self.has_frame = False
        if frames is not None:
            self.show(0)

    def show(self, index: int) -> None:
        """Install frame ``index`` of the mask video (its last frame past the end)."""
        if self.frames is None:
            raise ValueError(f"the video mask {self.path} was made without a reader; pass frames=")
        self.set_frame(self.frames.frame(index))

    def set_frame(self, frame: torch.Tensor) -> None:
        """Install a new frame (greyscale [H, W] or RGB [3, H, W] in [0, 1]) as the mask image."""
        luma = torch.tensor([0.299, 0.587, 0.114], device=frame.device)  # PIL's "L" conversion, as pytti
        grey = torch.einsum("chw,c->hw", frame.float(), luma) if frame.dim() == 3 else frame
        self.set_image(grey, inverted=self.inverted)
        self.has_frame = True

    def __call__(self, inputs: MaskInput, cutoff: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.has_frame:
            count = inputs.offsets.shape[0]
            return torch.full((count,), -math.inf, device=inputs.device), _ones(inputs)
        return super().__call__(inputs, cutoff)
