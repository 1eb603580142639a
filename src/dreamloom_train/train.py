"""Train dreamloom's demo perceptor on synthetic captioned pictures, evaluate it, and save its weights.

Two phases. First the towers learn the facts of whole pictures (colour, shape, position, …) through
linear heads shared by image and text embeddings, so both towers put each fact value on the same
direction. Then every training picture is a renderer cutout of a synthetic canvas, augmented by the
renderer's own augmentations, and a multi-positive contrastive loss matches captions to views by their
facts. Ranking losses shape what optimising an image against the model does: degraded twins (blended with
noise, blotches, another colour, or with the shape faded) must score lower than the clean canvas, and
pictures further along the way from one colour to another must score higher on the second. Usage (about
20 minutes on 2 CPU cores, one thread)::

    python -m dreamloom_train.train            # writes src/dreamloom/assets/demo/
    python -m dreamloom_train.train --steps 200 --out /tmp/demo.safetensors
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from dreamloom.perception.demo_model import demo_weights_path
from dreamloom_train.check import guided_render_report, save_renders
from dreamloom_train.cone import shift_into_cone
from dreamloom_train.config import CUT, TrainConfig
from dreamloom_train.probes import probe_accuracies
from dreamloom_train.recipe import train
from dreamloom_train.weights import load_weights, read_metadata, save_weights

LOG = logging.getLogger("dreamloom_train.train")  # not __main__ under ``python -m``


def _load_unshifted(path: Path) -> tuple[torch.nn.Module, float]:
    """Trained weights not yet shifted into the cone, and their training minutes (from the metadata)."""
    metadata = read_metadata(path)
    if metadata.get("cone_shifted") == "yes":
        raise SystemExit(f"--trained {path}: these weights are already finished (cone_shifted = yes)")
    return load_weights(path), float(metadata.get("train_minutes", 0))


def parse_overrides(items: list[str]) -> dict[str, float | int]:
    """``NAME=VALUE`` pairs for :class:`TrainConfig`, each value cast to the field's default's type."""
    defaults = asdict(TrainConfig())
    out: dict[str, float | int] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in defaults:
            raise SystemExit(f"--set {item}: no TrainConfig field {name!r}; fields: {', '.join(defaults)}")
        out[name] = type(defaults[name])(value)
    return out


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dreamloom_train.train", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--out", type=Path, default=demo_weights_path())
    parser.add_argument("--threads", type=int, default=1, help="torch threads (2 thrash when other work shares the 2 cores)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="override another TrainConfig field (recorded in the weights' metadata)")
    parser.add_argument("--renders", type=Path, default=None, help="folder for the guided-render check's PNGs")
    parser.add_argument("--trained", type=Path, default=None,
                        help="skip training: finish these weights (saved by this command with --set cone_shift=0)")
    parser.add_argument("--probe-count", type=int, default=300, help="held-out pictures per zero-shot probe")
    parser.add_argument("--check-steps", type=int, default=150, help="steps of each guided render in the check")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Train (or take ``--trained`` weights), finish, evaluate, check and save the demo perceptor."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logging.getLogger("dreamloom_train").setLevel(logging.INFO)  # other libraries (open_clip) only warn
    torch.set_num_threads(args.threads)
    cfg = replace(TrainConfig(steps=args.steps, seed=args.seed), **parse_overrides(args.overrides))
    start = time.perf_counter()
    if args.trained is None:
        model = train(cfg)
        minutes = (time.perf_counter() - start) / 60
        LOG.info("trained %d steps in %.1f min", cfg.steps, minutes)
    else:
        model, minutes = _load_unshifted(args.trained)
    model = model.half().float()  # evaluate and shift exactly what ships
    leaks = shift_into_cone(model, cfg.cone_shift, seed=cfg.seed + 3000)
    LOG.info("image-text distances above 1 after the cone shift: %.1f %%", 100 * leaks)
    for name, accuracy in probe_accuracies(model, args.probe_count, CUT, seed=cfg.seed + 1000).items():
        LOG.info("zero-shot %-14s %.1f %%", name, 100 * accuracy)
    model.requires_grad_(False)
    lines, pictures = guided_render_report(model, seed=cfg.seed + 2000, steps=args.check_steps)
    for line in lines:
        LOG.info("%s", line)
    if args.renders is not None:
        save_renders(pictures, args.renders)
    finished = "yes" if cfg.cone_shift else "no"  # weights saved with cone_shift=0 can be finished by --trained
    metadata = {k: str(v) for k, v in asdict(cfg).items()} | {"train_minutes": f"{minutes:.1f}", "cone_shifted": finished}
    save_weights(model, args.out, metadata)
    LOG.info("saved %s (%.1f MB)", args.out, args.out.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
