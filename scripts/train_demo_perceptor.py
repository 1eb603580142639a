"""Train dreamloom's demo perceptor on synthetic captioned pictures, evaluate it, and save its weights.

Every training picture is a renderer cutout of a synthetic canvas, augmented by the renderer's own
augmentations, so the model is trained on exactly what it sees while guiding an image. Captions are
matched to views by their facts (every true pair in a batch is a positive). Degraded twins of some
canvases (blended with noise, blotches, another colour, or with the shape faded) must score lower than the
clean canvas on the same caption: that ranking is what makes optimising an image converge to a clean
picture. Usage (about 20 minutes on 2 CPU cores)::

    PYTHONPATH=src python scripts/train_demo_perceptor.py            # writes src/dreamloom/assets/demo/
    PYTHONPATH=src python scripts/train_demo_perceptor.py --steps 200 --out /tmp/demo.safetensors
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from demo_perceptor_check import guided_render_report
from safetensors.torch import save_file
from torchvision.utils import save_image

from dreamloom.perception.augment import AugmentParams, apply_augmentations, sample_augmentations
from dreamloom.perception.cutouts import BorderMode, apply_cutouts, sample_cutouts
from dreamloom.perception.demo_model import DEMO_MODEL_NAME, demo_weights_path, normalise, register_demo_model
from dreamloom.perception.demo_model import zero_shot_accuracy
from dreamloom.perception.synthetic import Scene, SceneKind, ViewFacts, render_scene, sample_scene, view_facts
from dreamloom.perception.synthetic_captions import (
    PROBE_NAMES,
    Match,
    contrast_captions,
    make_probe,
    match,
    sample_caption,
)

LOG = logging.getLogger("train_demo_perceptor")
CPU = torch.device("cpu")
CUT = 64


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (saved into the weights file's metadata)."""

    steps: int = 550
    canvases: int = 24
    cutouts: int = 4
    twins: int = 8
    contrasts: int = 3
    lr: float = 1.5e-3
    warmup: int = 50
    weight_decay: float = 0.05
    rank_margin: float = 0.3
    text_lr_scale: float = 0.1
    text_frozen_steps: int = 275
    token_init_std: float = 0.5
    seed: int = 0


@dataclass
class Batch:
    """One training batch: augmented views, unique captions, their truth table and the degraded twins.

    Shape: views [N, 3, 64, 64]; truth [N, M] of Match values; twins [P, 3] rows of
    (clean view, twin view, caption) indices; levels [P].
    """

    views: torch.Tensor
    captions: list[str]
    truth: torch.Tensor
    twins: torch.Tensor
    levels: torch.Tensor


def _mirrored(view: ViewFacts) -> ViewFacts:
    """The facts of a horizontally flipped view: left and right swap."""
    swap = {"left": "right", "right": "left"}
    facts = frozenset(
        (swap.get(name, name), swap.get(value, value) if name == "position" else value) for name, value in view.facts
    )
    return ViewFacts(facts, view.unclear)


def _erased_shape(scene: Scene, window: tuple[float, float, float], erase: list[float]) -> bool:
    """Whether an erasing box hides over a third of the shape's bounding box.

    Approximate: the box is compared with the unwarped cutout (in the unflipped frame).
    """
    x0, y0, side = window
    reach = 1.3 * scene.radius / side
    cx, cy = (scene.centre[0] - x0) / side, (scene.centre[1] - y0) / side
    ox = max(0.0, min(cx + reach, erase[2]) - max(cx - reach, erase[0]))
    oy = max(0.0, min(cy + reach, erase[3]) - max(cy - reach, erase[1]))
    return ox * oy > (2 * reach) ** 2 / 3


def _augmented_facts(
    scene: Scene, window: tuple[float, float, float], flipped: bool, erase: list[float]
) -> ViewFacts | None:
    """Facts of a cutout after augmentation: flips mirror them, erasing can hide the shape."""
    facts = view_facts(scene, window)
    if facts is None:
        return None
    if flipped:
        erase = [1 - erase[2], erase[1], 1 - erase[0], erase[3]]
    if scene.kind is SceneKind.SHAPE and "shape" not in facts.unclear and _erased_shape(scene, window, erase):
        kept = frozenset(f for f in facts.facts if f[0] == "background")
        facts = ViewFacts(kept, frozenset({"kind", "colour", "shape", "position"}))
    return _mirrored(facts) if flipped else facts


def _degrade(
    canvas: torch.Tensor, scene: Scene, rng: np.random.Generator, gen: torch.Generator
) -> tuple[torch.Tensor, float]:
    """Blend a canvas towards a distractor (noise, blotches, another colour, the bare background).

    Shape: [1, 3, S, S] -> ([1, 3, S, S], level in (0, 1)).
    """
    size = canvas.shape[-1]
    choice = int(rng.integers(5 if scene.kind is SceneKind.SHAPE else 4))
    if choice == 0:
        distractor = torch.rand(canvas.shape, generator=gen)
    elif choice == 1:
        distractor = (0.5 + 0.25 * torch.randn(canvas.shape, generator=gen)).clamp(0, 1)
    elif choice == 2:
        coarse = torch.rand(1, 3, int(rng.integers(2, 9)), int(rng.integers(2, 9)), generator=gen)
        distractor = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    elif choice == 3:
        distractor = render_scene(sample_scene(rng, SceneKind.FLAT), size)[None]
    else:
        distractor = render_scene(Scene(SceneKind.FLAT, rgb=(scene.rgb[1],)), size)[None]
    level = float(rng.uniform(0.15, 0.75))
    return canvas + level * (distractor - canvas), level


def _index_augmentations(params: AugmentParams, index: torch.Tensor) -> AugmentParams:
    """The augmentation draws of the views at ``index`` (a twin reuses its clean view's draw)."""
    return AugmentParams(*(getattr(params, name)[index] for name in AugmentParams.__dataclass_fields__))


def make_batch(cfg: TrainConfig, rng: np.random.Generator, gen: torch.Generator) -> Batch:
    """Render canvases, cut and augment views with the renderer's code, caption them and tabulate truth."""
    views, twin_views, windows, scenes, twin_of, levels = [], [], [], [], [], []
    for i in range(cfg.canvases):
        scene = sample_scene(rng)
        size = int(rng.choice([64, 96, 128]))
        canvas = render_scene(scene, size)[None]
        params = sample_cutouts(
            gen, cfg.cutouts, cut_pow=float(rng.uniform(0.5, 2.0)), cutout_border=0.25,
            border_mode=BorderMode.CLAMP, device=CPU, image_hw=(size, size), cut_size=CUT,
        )
        views.append(apply_cutouts(canvas, params, CUT, BorderMode.CLAMP))
        for (ox, oy), (side, _) in zip(params.offsets.tolist(), params.sizes.tolist()):
            windows.append((ox, oy, side))
            scenes.append(scene)
        if i < cfg.twins:
            degraded, level = _degrade(canvas, scene, rng, gen)
            twin_views.append(apply_cutouts(degraded, params, CUT, BorderMode.CLAMP))
            twin_of += range(i * cfg.cutouts, (i + 1) * cfg.cutouts)
            levels += [level] * cfg.cutouts
    clean = torch.cat(views)
    aug = sample_augmentations(gen, clean.shape[0], CUT, device=CPU, dtype=clean.dtype)
    source = torch.tensor(twin_of, dtype=torch.long)
    twins = apply_augmentations(torch.cat(twin_views), _index_augmentations(aug, source))
    flipped = (torch.linalg.det(aug.warp[:, :2, :2]) < 0).tolist()
    facts = [
        _augmented_facts(s, w, f, e) for s, w, f, e in zip(scenes, windows, flipped, aug.erase.tolist())
    ]
    levels = torch.tensor(levels)
    return _tabulate(apply_augmentations(clean, aug), twins, facts, source, levels, cfg.contrasts, rng)


def _tabulate(
    clean: torch.Tensor,
    twins: torch.Tensor,
    facts: list[ViewFacts | None],
    source: torch.Tensor,
    levels: torch.Tensor,
    contrasts: int,
    rng: np.random.Generator,
) -> Batch:
    """Caption the usable views, add contrast captions, and tabulate the truth of every (view, caption) pair.

    A twin shares the facts and the caption of the clean view it was cut from (``source``).
    """
    count, source = clean.shape[0], source.tolist()
    all_facts = facts + [facts[s] for s in source]
    keep = [i for i, f in enumerate(all_facts) if f is not None]
    row = {old: new for new, old in enumerate(keep)}
    captions = {i: sample_caption(f, rng) for i, f in enumerate(facts) if f is not None}
    by_text = {c.text: c for c in captions.values()}
    for caption in list(by_text.values()):
        by_text.update((c.text, c) for c in contrast_captions(caption, contrasts, rng))
    unique = list(by_text)
    truth = torch.tensor([[int(match(by_text[t], all_facts[i])) for t in unique] for i in keep])
    pairs = [(k, s) for k, s in enumerate(source) if facts[s] is not None]
    twin_rows = torch.tensor(
        [(row[s], row[count + k], unique.index(captions[s].text)) for k, s in pairs], dtype=torch.long
    ).view(-1, 3)
    views = torch.cat([clean, twins])[keep]
    return Batch(views, unique, truth, twin_rows, levels[[k for k, _ in pairs]])


def contrastive_loss(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Multi-positive CLIP loss: -log of the probability mass on true pairs, both directions.

    Undecidable pairs take no part; captions true of no view (contrast captions) only act as negatives.
    Shape: logits, truth [N, M] -> scalar.
    """
    valid = truth != int(Match.UNCLEAR)
    positive = truth == int(Match.TRUE)
    all_pairs = logits.masked_fill(~valid, -math.inf)
    true_pairs = logits.masked_fill(~positive, -math.inf)
    image_to_text = all_pairs.logsumexp(1) - true_pairs.logsumexp(1)
    used = positive.any(0)
    text_to_image = all_pairs[:, used].logsumexp(0) - true_pairs[:, used].logsumexp(0)
    return (image_to_text.mean() + text_to_image.mean()) / 2


def ranking_loss(image: torch.Tensor, text: torch.Tensor, batch: Batch, margin: float) -> torch.Tensor:
    """Hinge: a clean view must beat its degraded twin on their caption by ``margin · level`` cosine."""
    clean, twin, caption = batch.twins.unbind(1)
    gap = (image[clean] * text[caption]).sum(1) - (image[twin] * text[caption]).sum(1)
    return F.relu(margin * batch.levels - gap).mean()


class TokenCache:
    """Tokenise each distinct caption once."""

    def __init__(self, tokenizer: Callable[[list[str]], torch.Tensor]) -> None:
        self._tokenizer, self._rows = tokenizer, {}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in texts if t not in self._rows]
        if missing:
            self._rows.update(zip(missing, self._tokenizer(missing)))
        return torch.stack([self._rows[t] for t in texts])


def _optimiser(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not embeddings, norms, biases or the logit scale).

    The text tower starts frozen and then learns slowly (``_text_scale``): at full speed its caption
    embeddings for words the image tower cannot see yet (shapes, positions) collapse together within a
    few dozen steps, which removes the image tower's gradient for them for good.
    """
    groups = []
    for text in (False, True):
        for decay in (True, False):
            params = [
                p for n, p in model.named_parameters()
                if (not n.startswith("visual.") and n != "logit_scale") == text
                and (p.ndim >= 2 and "embedding" not in n) == decay
            ]
            groups.append({"params": params, "weight_decay": cfg.weight_decay if decay else 0.0, "text": text})
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)


def _text_scale(step: int, cfg: TrainConfig, text: bool) -> float:
    """The text tower is frozen for ``text_frozen_steps``, then learns ``text_lr_scale`` times slower."""
    if not text:
        return 1.0
    return 0.0 if step < cfg.text_frozen_steps else cfg.text_lr_scale


def _learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg: TrainConfig) -> torch.nn.Module:
    """Train a freshly initialised demo model; logs losses every 50 steps."""
    torch.manual_seed(cfg.seed)
    register_demo_model()
    model = open_clip.create_model(DEMO_MODEL_NAME).train()
    torch.nn.init.normal_(model.token_embedding.weight, std=cfg.token_init_std)  # distinct words from step 0
    tokens = TokenCache(open_clip.get_tokenizer(DEMO_MODEL_NAME))
    optimiser = _optimiser(model, cfg)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in range(cfg.steps):
        batch = make_batch(cfg, rng, gen)
        image = model.encode_image(normalise(batch.views, model), normalize=True)
        text = model.encode_text(tokens(batch.captions), normalize=True)
        clip_loss = contrastive_loss(model.logit_scale.exp() * image @ text.T, batch.truth)
        rank_loss = ranking_loss(image, text, batch, cfg.rank_margin)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, cfg) * _text_scale(step, cfg, group["text"])
        optimiser.zero_grad(set_to_none=True)
        (clip_loss + rank_loss).backward()
        optimiser.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 50 == 0 or step == cfg.steps - 1:
            LOG.info("step %d  clip %.3f  rank %.4f  scale %.1f  %.0f s", step, clip_loss.item(),
                     rank_loss.item(), model.logit_scale.exp().item(), time.perf_counter() - start)
    return model.eval()


def evaluate(model: torch.nn.Module, seed: int) -> dict[str, float]:
    """Zero-shot accuracy on held-out whole pictures (a seed training never uses), per fact."""
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    return {name: zero_shot_accuracy(model, tokenizer, make_probe(name, 300, CUT, seed)) for name in PROBE_NAMES}


def save(model: torch.nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """Write the weights as fp16 safetensors (open_clip casts them back on load); counters stay integers."""
    tensors = {
        k: (v.detach().to(torch.float16) if v.is_floating_point() else v.detach()).contiguous()
        for k, v in model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--out", type=Path, default=demo_weights_path())
    parser.add_argument("--threads", type=int, default=1, help="torch threads (2 thrash when other work shares the 2 cores)")
    parser.add_argument("--renders", type=Path, default=None, help="folder for the guided-render check's PNGs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(steps=args.steps, seed=args.seed)
    start = time.perf_counter()
    model = train(cfg)
    minutes = (time.perf_counter() - start) / 60
    LOG.info("trained %d steps in %.1f min", cfg.steps, minutes)
    for name, accuracy in evaluate(model, seed=cfg.seed + 1000).items():
        LOG.info("zero-shot %-14s %.1f %%", name, 100 * accuracy)
    model.requires_grad_(False)
    lines, pictures = guided_render_report(model, seed=cfg.seed + 2000)
    for line in lines:
        LOG.info("%s", line)
    if args.renders is not None:
        args.renders.mkdir(parents=True, exist_ok=True)
        for name, picture in pictures.items():
            save_image(picture, args.renders / f"{name}.png")
    save(model, args.out, {k: str(v) for k, v in asdict(cfg).items()} | {"train_minutes": f"{minutes:.1f}"})
    LOG.info("saved %s (%.1f MB)", args.out, args.out.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
