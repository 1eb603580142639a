"""Train dreamloom's demo perceptor on synthetic captioned pictures, evaluate it, and save its weights.

Two phases. First the towers learn the facts of whole pictures (colour, shape, position, …) through
linear heads shared by image and text embeddings, so both towers put each fact value on the same
direction. Then every training picture is a renderer cutout of a synthetic canvas, augmented by the
renderer's own augmentations, and a multi-positive contrastive loss matches captions to views by their
facts. Ranking losses shape what optimising an image against the model does: degraded twins (blended with
noise, blotches, another colour, or with the shape faded) must score lower than the clean canvas, and
pictures further along the way from one colour to another must score higher on the second. Usage (about
20 minutes on 2 CPU cores, one thread)::

    PYTHONPATH=src python scripts/train_demo_perceptor.py            # writes src/dreamloom/assets/demo/
    PYTHONPATH=src python scripts/train_demo_perceptor.py --steps 200 --out /tmp/demo.safetensors
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from demo_perceptor_check import guided_render_report
from safetensors import safe_open
from safetensors.torch import save_file
from torchvision.utils import save_image

from dreamloom.perception.augment import AugmentParams, apply_augmentations, sample_augmentations
from dreamloom.perception.cutouts import BorderMode, apply_cutouts, sample_cutouts
from dreamloom.perception.demo_model import DEMO_MODEL_NAME, demo_weights_path, normalise, register_demo_model
from dreamloom.perception.demo_model import zero_shot_accuracy
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom.perception.synthetic import (
    COLOURS,
    POSITIONS,
    SHAPES,
    Scene,
    SceneKind,
    ViewFacts,
    flat_view,
    jittered_rgb,
    render_scene,
    sample_scene,
    view_facts,
)
from dreamloom.perception.synthetic_captions import (
    PROBE_NAMES,
    Caption,
    captioned_batch,
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

    pretrain_steps: int = 800
    pretrain_canvases: int = 64
    pretrain_noise: float = 0.05
    steps: int = 600
    canvases: int = 24
    cutouts: int = 4
    twins: int = 8
    contrasts: int = 3
    lr: float = 1.5e-3
    warmup: int = 50
    weight_decay: float = 0.05
    rank_margin: float = 0.3
    token_init_std: float = 0.5
    fact_weight: float = 1.0
    colour_paths: int = 16
    path_margin: float = 0.3
    cone_shift: float = 1.0
    fact_scale: float = 10.0
    seed: int = 0


@dataclass
class Batch:
    """One training batch: augmented views, unique captions, their truth table and the degraded twins.

    Shape: views [N, 3, 64, 64]; truth [N, M] of Match values; twins [P, 4] rows of
    (clean view, twin view, caption, distractor colour caption or -1) indices; levels [P]; view_labels [N, F] and caption_labels [M, F]:
    the value index of each fact in :data:`FACT_VALUES` order, -1 where unknown (twins are all -1).
    """

    views: torch.Tensor
    captions: list[str]
    truth: torch.Tensor
    twins: torch.Tensor
    levels: torch.Tensor
    view_labels: torch.Tensor
    caption_labels: torch.Tensor


_COLOUR_NAMES = tuple(COLOURS)
FACT_VALUES: dict[str, tuple[str, ...]] = {
    "kind": tuple(kind.value for kind in SceneKind),
    "background": _COLOUR_NAMES,
    "colour": _COLOUR_NAMES,
    "shape": SHAPES,
    "position": POSITIONS,
    "left": _COLOUR_NAMES,
    "right": _COLOUR_NAMES,
    "top": _COLOUR_NAMES,
    "bottom": _COLOUR_NAMES,
}


def fact_labels(facts: frozenset[tuple[str, str]] | None) -> list[int]:
    """The value index of every fact in :data:`FACT_VALUES` order; -1 for facts not stated."""
    stated = dict(facts or ())
    return [values.index(stated[name]) if name in stated else -1 for name, values in FACT_VALUES.items()]


class FactHeads(torch.nn.Module):
    """One cosine classifier per fact, shared by the image and the text embeddings (training only).

    Sharing the heads ties both towers to the same direction per fact value from the first step: the
    image tower must encode shapes and positions linearly, and captions naming different shapes cannot
    collapse onto one embedding, which the contrastive loss alone let happen.
    """

    def __init__(self, dim: int, scale: float) -> None:
        super().__init__()
        self.scale = scale
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(len(values), dim) / math.sqrt(dim)) for values in FACT_VALUES.values()
        )

    def forward(self, embeds: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the stated facts. Shape: embeds [N, D] (unit), labels [N, F] -> scalar."""
        losses = []
        for column, weight in enumerate(self.weights):
            known = labels[:, column] >= 0
            if known.any():
                logits = self.scale * embeds[known] @ F.normalize(weight, dim=1).T
                losses.append(F.cross_entropy(logits, labels[known, column], reduction="sum"))
        return torch.stack(losses).sum() / (labels >= 0).sum().clamp(min=1)


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
) -> tuple[torch.Tensor, float, str | None]:
    """Blend a canvas towards a distractor (noise, blotches, another colour, the bare background).

    Returns the blend, its level, and the colour name of a flat distractor (None for noise): the blend
    must score higher than the clean canvas on that colour, so the model grades mixtures of colours.
    Shape: [1, 3, S, S] -> ([1, 3, S, S], level in (0, 1), name).
    """
    size = canvas.shape[-1]
    choice = int(rng.integers(5 if scene.kind is SceneKind.SHAPE else 4))
    towards = None
    if choice == 0:
        distractor = torch.rand(canvas.shape, generator=gen)
    elif choice == 1:
        distractor = (0.5 + 0.25 * torch.randn(canvas.shape, generator=gen)).clamp(0, 1)
    elif choice == 2:
        coarse = torch.rand(1, 3, int(rng.integers(2, 9)), int(rng.integers(2, 9)), generator=gen)
        distractor = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    elif choice == 3:
        flat = sample_scene(rng, SceneKind.FLAT)
        distractor, towards = render_scene(flat, size)[None], flat.background
    else:
        distractor = render_scene(Scene(SceneKind.FLAT, rgb=(scene.rgb[1],)), size)[None]
        towards = scene.background
    level = float(rng.uniform(0.15, 0.75))
    return canvas + level * (distractor - canvas), level, towards


def _index_augmentations(params: AugmentParams, index: torch.Tensor) -> AugmentParams:
    """The augmentation draws of the views at ``index`` (a twin reuses its clean view's draw)."""
    return AugmentParams(*(getattr(params, name)[index] for name in AugmentParams.__dataclass_fields__))


def make_batch(cfg: TrainConfig, rng: np.random.Generator, gen: torch.Generator) -> Batch:
    """Render canvases, cut and augment views with the renderer's code, caption them and tabulate truth."""
    views, twin_views, windows, scenes, twin_of, levels, towards = [], [], [], [], [], [], []
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
            degraded, level, colour = _degrade(canvas, scene, rng, gen)
            twin_views.append(apply_cutouts(degraded, params, CUT, BorderMode.CLAMP))
            twin_of += range(i * cfg.cutouts, (i + 1) * cfg.cutouts)
            levels += [level] * cfg.cutouts
            towards += [colour] * cfg.cutouts
    clean = torch.cat(views)
    aug = sample_augmentations(gen, clean.shape[0], CUT, device=CPU, dtype=clean.dtype)
    source = torch.tensor(twin_of, dtype=torch.long)
    twins = apply_augmentations(torch.cat(twin_views), _index_augmentations(aug, source))
    flipped = (torch.linalg.det(aug.warp[:, :2, :2]) < 0).tolist()
    facts = [
        _augmented_facts(s, w, f, e) for s, w, f, e in zip(scenes, windows, flipped, aug.erase.tolist())
    ]
    levels = torch.tensor(levels)
    twin_info = (source, levels, towards)
    return _tabulate(apply_augmentations(clean, aug), twins, facts, twin_info, cfg.contrasts, rng)


def _tabulate(
    clean: torch.Tensor,
    twins: torch.Tensor,
    facts: list[ViewFacts | None],
    twin_info: tuple[torch.Tensor, torch.Tensor, list[str | None]],
    contrasts: int,
    rng: np.random.Generator,
) -> Batch:
    """Caption the usable views, add contrast captions, and tabulate the truth of every (view, caption) pair.

    ``twin_info`` holds, per twin, its clean view (``source``), blend level and flat distractor colour.
    Twins take no part in the contrastive loss (a blend is neither caption's picture) and have no fact
    labels; they are ranked against their clean view on its caption and on the distractor's colour.
    """
    source, levels, towards = twin_info
    count, source = clean.shape[0], source.tolist()
    all_facts = facts + [facts[s] for s in source]
    keep = [i for i, f in enumerate(all_facts) if f is not None]
    row = {old: new for new, old in enumerate(keep)}
    captions = {i: sample_caption(f, rng) for i, f in enumerate(facts) if f is not None}
    by_text = {c.text: c for c in captions.values()}
    for caption in list(by_text.values()):
        by_text.update((c.text, c) for c in contrast_captions(caption, contrasts, rng))
    flat = {name: sample_caption(flat_view(name), rng) for name in sorted(set(towards) - {None})}
    by_text.update((c.text, c) for c in flat.values())
    unique = list(by_text)
    unclear = [int(Match.UNCLEAR)] * len(unique)
    truth = torch.tensor(
        [[int(match(by_text[t], all_facts[i])) for t in unique] if i < count else unclear for i in keep]
    )
    pairs = [(k, s) for k, s in enumerate(source) if facts[s] is not None]
    twin_rows = torch.tensor(
        [(row[s], row[count + k], unique.index(captions[s].text),
          unique.index(flat[towards[k]].text) if towards[k] is not None else -1) for k, s in pairs],
        dtype=torch.long,
    ).view(-1, 4)
    views = torch.cat([clean, twins])[keep]
    view_labels = torch.tensor([fact_labels(facts[i].facts) if i < count else fact_labels(None) for i in keep])
    caption_labels = torch.tensor([fact_labels(by_text[t].facts) for t in unique])
    return Batch(views, unique, truth, twin_rows, levels[[k for k, _ in pairs]], view_labels, caption_labels)


@dataclass
class ColourPaths:
    """Pairs of pictures on the way from colour A to colour B, and the captions of A and B.

    Row k of ``pictures`` is pair k // 2, the second of a pair being further along (``amounts``). Half the
    pairs blend the whole picture; half cover a share of it equal to the amount with B, from a side drawn
    for each picture (so the second covers more area, not necessarily the first's area and more).
    Shape: pictures [2K, 3, 64, 64]; captions 2K texts (A, B per pair); amounts [K, 2].
    """

    pictures: torch.Tensor
    captions: list[str]
    amounts: torch.Tensor


def make_colour_paths(count: int, rng: np.random.Generator, gen: torch.Generator) -> ColourPaths:
    """Draw ``count`` pairs of pictures between two flat colours (see :class:`ColourPaths`)."""
    names = list(COLOURS)
    pictures, captions, amounts = [], [], []
    axis = (torch.arange(CUT, dtype=torch.float32) + 0.5) / CUT
    for k in range(count):
        first, second = rng.choice(len(names), size=2, replace=False)
        a, b = (torch.tensor(jittered_rgb(names[i], rng)).view(3, 1, 1) for i in (first, second))
        pair = np.sort(rng.uniform(0.0, 1.0, 2))
        for amount in pair:
            if k % 2 == 0:
                share = torch.full((1, CUT, CUT), float(amount))
            else:
                along = axis.view(1, 1, CUT) if rng.random() < 0.5 else axis.view(1, CUT, 1)
                share = (along < amount).float().expand(1, CUT, CUT)
                share = share if rng.random() < 0.5 else share.flip(-1).flip(-2)
            pictures.append(a + (b - a) * share)
        captions += [sample_caption(flat_view(names[i]), rng).text for i in (first, second)]
        amounts.append(pair)
    noisy = torch.stack(pictures) + 0.03 * torch.randn(2 * count, 3, CUT, CUT, generator=gen)
    return ColourPaths(noisy, captions, torch.tensor(np.array(amounts), dtype=torch.float32))


def path_loss(image: torch.Tensor, text: torch.Tensor, paths: ColourPaths, margin: float) -> torch.Tensor:
    """Hinges of ``margin ·`` the step: further along a path must score higher on B and lower on A.

    This grades the similarity between colours, so an image optimised from one colour towards another
    finds a slope to climb. Shape: image, text [2K, D] -> scalar.
    """
    near, far = image[0::2], image[1::2]
    first, second = text[0::2], text[1::2]
    step = paths.amounts[:, 1] - paths.amounts[:, 0]
    towards_b = (far * second).sum(1) - (near * second).sum(1)
    away_from_a = (near * first).sum(1) - (far * first).sum(1)
    return (F.relu(margin * step - towards_b) + F.relu(margin * step - away_from_a)).mean()


def make_whole_batch(
    cfg: TrainConfig, rng: np.random.Generator, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, list[str], torch.Tensor]:
    """Whole pictures at the model's input size with light pixel noise, their fact labels, and captions.

    The captions (one true caption per picture plus its contrast captions) are labelled by the facts they
    assert. Shape: -> views [N, 3, 64, 64], view labels [N, F], M captions, caption labels [M, F].
    """
    scenes = [sample_scene(rng) for _ in range(cfg.pretrain_canvases)]
    facts = [view_facts(scene) for scene in scenes]
    pictures = torch.stack([render_scene(scene, CUT) for scene in scenes])
    pictures = pictures + cfg.pretrain_noise * torch.randn(pictures.shape, generator=gen)
    by_text: dict[str, Caption] = {}
    for view in facts:
        caption = sample_caption(view, rng)
        by_text.update((c.text, c) for c in [caption, *contrast_captions(caption, cfg.contrasts, rng)])
    view_labels = torch.tensor([fact_labels(view.facts) for view in facts])
    caption_labels = torch.tensor([fact_labels(c.facts) for c in by_text.values()])
    return pictures, view_labels, list(by_text), caption_labels


def contrastive_loss(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Multi-positive CLIP loss: -log of the probability mass on true pairs, both directions.

    Undecidable pairs take no part; captions true of no view (contrast captions) only act as negatives.
    Shape: logits, truth [N, M] -> scalar.
    """
    valid = truth != int(Match.UNCLEAR)
    positive = truth == int(Match.TRUE)
    all_pairs = logits.masked_fill(~valid, -math.inf)
    true_pairs = logits.masked_fill(~positive, -math.inf)
    rows, used = positive.any(1), positive.any(0)
    image_to_text = all_pairs[rows].logsumexp(1) - true_pairs[rows].logsumexp(1)
    text_to_image = all_pairs[:, used].logsumexp(0) - true_pairs[:, used].logsumexp(0)
    return (image_to_text.mean() + text_to_image.mean()) / 2


def ranking_loss(image: torch.Tensor, text: torch.Tensor, batch: Batch, margin: float) -> torch.Tensor:
    """Hinges of ``margin · level`` cosine: a clean view must beat its degraded twin on its caption, and a
    twin blended towards a flat colour must beat the clean view on that colour's caption."""
    clean, twin, caption, towards = batch.twins.unbind(1)
    gap = (image[clean] * text[caption]).sum(1) - (image[twin] * text[caption]).sum(1)
    losses = F.relu(margin * batch.levels - gap)
    toward = towards >= 0
    if toward.any():
        colour = text[towards[toward]]
        pull = (image[twin[toward]] * colour).sum(1) - (image[clean[toward]] * colour).sum(1)
        losses = torch.cat([losses, F.relu(margin * batch.levels[toward] - pull)])
    return losses.mean()


class TokenCache:
    """Tokenise each distinct caption once."""

    def __init__(self, tokenizer: Callable[[list[str]], torch.Tensor]) -> None:
        self._tokenizer, self._rows = tokenizer, {}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in texts if t not in self._rows]
        if missing:
            self._rows.update(zip(missing, self._tokenizer(missing)))
        return torch.stack([self._rows[t] for t in texts])


def _optimiser(model: torch.nn.Module, heads: FactHeads, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not embeddings, norms, biases, the logit scale or the heads)."""
    decayed = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    others = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    groups = [
        {"params": decayed, "weight_decay": cfg.weight_decay},
        {"params": others + list(heads.parameters()), "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)


def _learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero over both phases."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.pretrain_steps + cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg: TrainConfig) -> torch.nn.Module:
    """Train a freshly initialised demo model; logs losses every 50 steps."""
    torch.manual_seed(cfg.seed)
    register_demo_model()
    model = open_clip.create_model(DEMO_MODEL_NAME).train()
    torch.nn.init.normal_(model.token_embedding.weight, std=cfg.token_init_std)  # distinct words from step 0
    tokens = TokenCache(open_clip.get_tokenizer(DEMO_MODEL_NAME))
    heads = FactHeads(model.text_projection.shape[1], cfg.fact_scale)
    optimiser = _optimiser(model, heads, cfg)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in range(cfg.pretrain_steps):
        pictures, view_labels, captions, caption_labels = make_whole_batch(cfg, rng, gen)
        image = model.encode_image(normalise(pictures, model), normalize=True)
        text = model.encode_text(tokens(captions), normalize=True)
        fact_loss = heads(image, view_labels) + heads(text, caption_labels)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, cfg)
        optimiser.zero_grad(set_to_none=True)
        fact_loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == cfg.pretrain_steps - 1:
            LOG.info("pretrain %d  facts %.3f  %.0f s", step, fact_loss.item(), time.perf_counter() - start)
    for step in range(cfg.pretrain_steps, cfg.pretrain_steps + cfg.steps):
        batch = make_batch(cfg, rng, gen)
        paths = make_colour_paths(cfg.colour_paths, rng, gen)
        embeds = model.encode_image(normalise(torch.cat([batch.views, paths.pictures]), model), normalize=True)
        image, path_image = embeds[: batch.views.shape[0]], embeds[batch.views.shape[0]:]
        text = model.encode_text(tokens(batch.captions), normalize=True)
        clip_loss = contrastive_loss(model.logit_scale.exp() * image @ text.T, batch.truth)
        rank_loss = ranking_loss(image, text, batch, cfg.rank_margin)
        rank_loss = rank_loss + path_loss(path_image, model.encode_text(tokens(paths.captions), normalize=True),
                                          paths, cfg.path_margin)
        fact_loss = heads(image, batch.view_labels) + heads(text, batch.caption_labels)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, cfg)
        optimiser.zero_grad(set_to_none=True)
        (clip_loss + rank_loss + cfg.fact_weight * fact_loss).backward()
        optimiser.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 50 == 0 or step == cfg.pretrain_steps + cfg.steps - 1:
            LOG.info("step %d  clip %.3f  rank %.4f  facts %.3f  scale %.1f  %.0f s", step, clip_loss.item(),
                     rank_loss.item(), fact_loss.item(), model.logit_scale.exp().item(), time.perf_counter() - start)
    return model.eval()


@torch.no_grad()
def shift_into_cone(model: torch.nn.Module, amount: float, seed: int) -> float:
    """Add one shared vector to every image and text embedding (through the towers' output biases).

    Contrastive training spreads embeddings over the whole sphere: most image-text pairs end up more than
    81° apart, a spherical distance above 1. pytti's positional and semantic masks switch a cutout off with
    a stop of 1, which works for CLIP (its image-text angles stay near 70–80°) but not for such a model:
    masked-off cutouts keep pulling. A shared shift of ``amount`` times the mean embedding length, along
    the mean direction, closes the cone while keeping every comparison between prompts nearly as it was.
    The image shift goes into the attention pool's output bias, the text shift into ``ln_final``'s bias
    (mapped through the text projection). Returns the share of image-text distances above 1 afterwards.
    """
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    batch = captioned_batch(256, CUT, seed)
    tokens = tokenizer(sorted({c.text for c in batch.captions}))
    images = normalise(batch.images, model)
    image, text = model.encode_image(images), model.encode_text(tokens)
    direction = F.normalize(F.normalize(image, dim=1).mean(0) + F.normalize(text, dim=1).mean(0), dim=0)
    model.visual.attnpool.c_proj.bias += amount * image.norm(dim=1).mean() * direction
    text_shift = amount * text.norm(dim=1).mean() * direction
    model.ln_final.bias += torch.linalg.lstsq(model.text_projection.T, text_shift[:, None]).solution[:, 0]
    image, text = model.encode_image(images, normalize=True), model.encode_text(tokens, normalize=True)
    return float((spherical_distance(image[:, None], text[None]) > 1).double().mean())


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


def _load_unshifted(path: Path) -> tuple[torch.nn.Module, float]:
    """Trained weights not yet shifted into the cone, and their training minutes (from the metadata)."""
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    if metadata.get("cone_shifted") == "yes":
        raise SystemExit(f"--trained {path}: these weights are already finished (cone_shifted = yes)")
    register_demo_model()
    return open_clip.create_model(DEMO_MODEL_NAME, pretrained=str(path)).eval(), float(metadata.get("train_minutes", 0))


def _parse_overrides(items: list[str]) -> dict[str, float | int]:
    """``NAME=VALUE`` pairs for :class:`TrainConfig`, each value cast to the field's default's type."""
    defaults = asdict(TrainConfig())
    out: dict[str, float | int] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in defaults:
            raise SystemExit(f"--set {item}: no TrainConfig field {name!r}; fields: {', '.join(defaults)}")
        out[name] = type(defaults[name])(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=TrainConfig.steps)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--out", type=Path, default=demo_weights_path())
    parser.add_argument("--threads", type=int, default=1, help="torch threads (2 thrash when other work shares the 2 cores)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="override another TrainConfig field (recorded in the weights' metadata)")
    parser.add_argument("--renders", type=Path, default=None, help="folder for the guided-render check's PNGs")
    parser.add_argument("--trained", type=Path, default=None,
                        help="skip training: finish these weights (saved by this script with --set cone_shift=0)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    cfg = replace(TrainConfig(steps=args.steps, seed=args.seed), **_parse_overrides(args.overrides))
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
    metadata = {k: str(v) for k, v in asdict(cfg).items()} | {"train_minutes": f"{minutes:.1f}", "cone_shifted": "yes"}
    save(model, args.out, metadata)
    LOG.info("saved %s (%.1f MB)", args.out, args.out.stat().st_size / 1e6)


if __name__ == "__main__":
    main()
