"""Training batches: renderer cutouts of synthetic canvases with their captions, truth table and twins.

Views are cut and augmented by the renderer's own code (``sample_cutouts``/``apply_cutouts``,
``sample_augmentations``/``apply_augmentations``), and the drawn parameters are reused to work out what
each view shows: a flipped view has left and right swapped, a mostly erased shape becomes unclear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dreamloom.perception.augment import AugmentParams, apply_augmentations, sample_augmentations
from dreamloom.perception.cutouts import BorderMode, apply_cutouts, sample_cutouts
from dreamloom_train.captions import Caption, Match, contrast_captions, match, sample_caption
from dreamloom_train.config import CUT, TrainConfig
from dreamloom_train.fact_heads import fact_labels
from dreamloom_train.scenes import Scene, SceneKind, ViewFacts, flat_view, render_scene, sample_scene, view_facts

CPU = torch.device("cpu")


@dataclass
class Batch:
    """One training batch: augmented views, unique captions, their truth table and the degraded twins.

    Shape: views [N, 3, 64, 64]; truth [N, M] of Match values; twins [P, 4] rows of
    (clean view, twin view, caption, distractor colour caption or -1) indices; levels [P]; view_labels
    [N, F] and caption_labels [M, F]: the value index of each fact in
    :data:`~dreamloom_train.fact_heads.FACT_VALUES` order, -1 where unknown (twins are all -1).
    """

    views: torch.Tensor
    captions: list[str]
    truth: torch.Tensor
    twins: torch.Tensor
    levels: torch.Tensor
    view_labels: torch.Tensor
    caption_labels: torch.Tensor


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
