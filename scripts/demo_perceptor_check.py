"""Guided-render check for the demo perceptor, used by ``train_demo_perceptor.py``.

A small self-contained loop, not the renderer: raw RGB pixels start as uniform noise and Adam moves them
so that renderer cutouts (same sampler, augmentations and noise as the renderer) come close to text
prompts under pytti's spherical distance. A prompt may be limited to cutouts whose centre lies in the
left or right half, which stands in for a mask. The report says how close the picture came to the
prompted colours and how much noise is left.
"""

from __future__ import annotations

from dataclasses import dataclass

import open_clip
import torch

from dreamloom.perception.augment import augment
from dreamloom.perception.cutouts import BorderMode, apply_cutouts, sample_cutouts
from dreamloom.perception.demo_model import DEMO_MODEL_NAME, normalise
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom.perception.synthetic import COLOURS

CUT = 64


@dataclass(frozen=True)
class Target:
    """A prompt, its weight, and the half of the picture whose cutouts it scores (None: all cutouts)."""

    text: str
    weight: float = 1.0
    half: str | None = None


def _half_weights(centres: torch.Tensor, half: str | None) -> torch.Tensor:
    """1 for cutouts whose centre lies in the named half, else 0. Shape: [N, 2] -> [N]."""
    if half is None:
        return torch.ones(centres.shape[0])
    left = centres[:, 0] < 0.5
    return (left if half == "left" else ~left).to(torch.float32)


def guided_render(
    model: torch.nn.Module, targets: list[Target], *, size: int = 128, steps: int = 150, cutouts: int = 16,
    lr: float = 0.03, seed: int = 0,
) -> torch.Tensor:
    """Optimise a noise picture towards weighted prompts. Shape: -> [3, size, size] in [0, 1]."""
    gen = torch.Generator().manual_seed(seed)
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    with torch.no_grad():
        embeds = model.encode_text(tokenizer([t.text for t in targets]), normalize=True)
    image = torch.rand(1, 3, size, size, generator=gen).requires_grad_(True)
    optimiser = torch.optim.Adam([image], lr=lr)
    for _ in range(steps):
        params = sample_cutouts(gen, cutouts, cut_pow=2.0, cutout_border=0.25, border_mode=BorderMode.CLAMP,
                                device=image.device, image_hw=(size, size), cut_size=CUT)
        views = augment(apply_cutouts(image, params, CUT, BorderMode.CLAMP), gen)
        embed = model.encode_image(normalise(views, model))
        loss = image.new_zeros(())
        for target, text in zip(targets, embeds):
            weights = _half_weights(params.centers, target.half)
            loss = loss + target.weight * (weights * spherical_distance(embed, text)).sum() / weights.sum().clamp(min=1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    return image.detach()[0]


def _nearest_fraction(pixels: torch.Tensor, name: str) -> float:
    """Fraction of pixels whose nearest named colour is ``name``. Shape: pixels [3, ...]."""
    palette = torch.tensor(list(COLOURS.values()))
    flat = pixels.reshape(3, -1).T
    nearest = torch.cdist(flat, palette).argmin(dim=1)
    return float((nearest == list(COLOURS).index(name)).double().mean())


def describe(pixels: torch.Tensor, name: str) -> str:
    """Mean colour, its distance to the named colour, share of pixels nearest to it, and leftover noise."""
    mean = pixels.reshape(3, -1).mean(dim=1)
    distance = float((mean - torch.tensor(COLOURS[name])).norm())
    noise = float((pixels - mean.view(3, 1, 1)).abs().mean())
    rgb = ", ".join(f"{v:.2f}" for v in mean.tolist())
    return (f"mean ({rgb}) dist-to-{name} {distance:.2f} nearest-{name} {100 * _nearest_fraction(pixels, name):.0f}%"
            f" residual {noise:.3f}")


def guided_render_report(model: torch.nn.Module, seed: int) -> tuple[list[str], dict[str, torch.Tensor]]:
    """Render a few prompts from noise; describe each result in one line and return the pictures too."""
    lines, pictures = [], {}
    for name in ("red", "green", "blue", "yellow"):
        picture = pictures[name] = guided_render(model, [Target(name)], seed=seed)
        lines.append(f"render '{name}': {describe(picture, name)}")
    split = guided_render(model, [Target("red", half="left"), Target("blue", half="right")], seed=seed)
    pictures["red-left-blue-right"] = split
    half = split.shape[-1] // 2
    lines.append(f"render left 'red': {describe(split[..., :half], 'red')}")
    lines.append(f"render right 'blue': {describe(split[..., half:], 'blue')}")
    start = torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(seed))
    pushed = pictures["not-red"] = guided_render(model, [Target("red", weight=-1.0)], seed=seed)
    lines.append(f"render 'red' weight -1: nearest-red {100 * _nearest_fraction(start, 'red'):.0f}% of noise -> "
                 f"{100 * _nearest_fraction(pushed, 'red'):.0f}%; {describe(pushed, 'red')}")
    return lines, pictures
