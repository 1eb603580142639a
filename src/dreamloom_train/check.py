"""Guided-render check for the demo perceptor, run after training and on its own.

A small self-contained loop, not the renderer: raw RGB pixels start as uniform noise and Adam moves them
so that renderer cutouts (same sampler, augmentations and noise as the renderer) come close to text
prompts under pytti's spherical distance. A prompt may be limited to cutouts whose centre lies in the
left or right half, which stands in for a mask. The report says how close the picture came to the
prompted colours and how much noise is left. Usage::

    python -m dreamloom_train.check                       # the shipped weights
    python -m dreamloom_train.check --weights FILE --renders DIR
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from torchvision.utils import save_image

from dreamloom.perception.augment import augment
from dreamloom.perception.cutouts import BorderMode, apply_cutouts, sample_cutouts
from dreamloom.perception.demo_model import DEMO_MODEL_NAME, demo_weights_path
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom_train.config import CUT
from dreamloom_train.preprocess import normalise
from dreamloom_train.scenes import COLOURS
from dreamloom_train.weights import load_weights


@dataclass(frozen=True)
class Target:
    """A prompt, its weight, and the half of the picture whose cutouts it scores (None: all cutouts)."""

    text: str
    weight: float = 1.0
    half: str | None = None


def half_weights(centres: torch.Tensor, half: str | None) -> torch.Tensor:
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
            weights = half_weights(params.centers, target.half)
            loss = loss + target.weight * (weights * spherical_distance(embed, text)).sum() / weights.sum().clamp(min=1)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            image.clamp_(0, 1)
    return image.detach()[0]


def nearest_fraction(pixels: torch.Tensor, name: str) -> float:
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
    return (f"mean ({rgb}) dist-to-{name} {distance:.2f} nearest-{name} {100 * nearest_fraction(pixels, name):.0f}%"
            f" residual {noise:.3f}")


def guided_render_report(
    model: torch.nn.Module, seed: int, steps: int = 150
) -> tuple[list[str], dict[str, torch.Tensor]]:
    """Render a few prompts from noise; describe each result in one line and return the pictures too."""
    lines, pictures = [], {}
    for name in ("red", "green", "blue", "yellow"):
        picture = pictures[name] = guided_render(model, [Target(name)], steps=steps, seed=seed)
        lines.append(f"render '{name}': {describe(picture, name)}")
    split = guided_render(model, [Target("red", half="left"), Target("blue", half="right")], steps=steps, seed=seed)
    pictures["red-left-blue-right"] = split
    half = split.shape[-1] // 2
    lines.append(f"render left 'red': {describe(split[..., :half], 'red')}")
    lines.append(f"render right 'blue': {describe(split[..., half:], 'blue')}")
    start = torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(seed))
    pushed = pictures["not-red"] = guided_render(model, [Target("red", weight=-1.0)], steps=steps, seed=seed)
    lines.append(f"render 'red' weight -1: nearest-red {100 * nearest_fraction(start, 'red'):.0f}% of noise -> "
                 f"{100 * nearest_fraction(pushed, 'red'):.0f}%; {describe(pushed, 'red')}")
    return lines, pictures


def save_renders(pictures: dict[str, torch.Tensor], folder: Path) -> None:
    """Write each rendered picture as ``folder/<name>.png``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, picture in pictures.items():
        save_image(picture, folder / f"{name}.png")


def main(argv: list[str] | None = None) -> None:
    """Load demo weights, run the guided-render check, print its lines and optionally save the pictures."""
    parser = argparse.ArgumentParser(prog="python -m dreamloom_train.check", description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=demo_weights_path(), help="safetensors file to check")
    parser.add_argument("--seed", type=int, default=2000, help="noise seed (training checks with its seed + 2000)")
    parser.add_argument("--steps", type=int, default=150, help="optimisation steps per render")
    parser.add_argument("--renders", type=Path, default=None, help="folder for the rendered PNGs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_weights(args.weights).requires_grad_(False)
    lines, pictures = guided_render_report(model, seed=args.seed, steps=args.steps)
    print("\n".join(lines))
    if args.renders is not None:
        save_renders(pictures, args.renders)


if __name__ == "__main__":
    main()
