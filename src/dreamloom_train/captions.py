"""Captions for synthetic views, whether a caption is true of a view, and captioned batches of whole scenes.

A caption asserts a few facts ("a red circle on the left" asserts colour=red, shape=circle,
position=left). It is true of a view that has all of them, undecidable when it names a fact that is
unclear in that view (a shape cut by the window edge), and false otherwise. Training uses this to know
every true pair in a batch, not just the diagonal.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from dreamloom_train.scenes import (
    COLOURS,
    POSITION_PHRASES,
    POSITIONS,
    SHAPES,
    Scene,
    ViewFacts,
    render_scene,
    sample_scene,
    view_facts,
)

Facts = dict[str, str]
_DOMAINS = {"shape": SHAPES, "position": POSITIONS}  # every other fact names a colour


@dataclass(frozen=True)
class Caption:
    """A caption, the facts it asserts (a picture matches when it has all of them), and its template."""

    text: str
    facts: frozenset[tuple[str, str]]
    template: int


class Match(enum.IntEnum):
    """How a caption relates to a view: false, true, or undecidable because it names an unclear fact."""

    FALSE = 0
    TRUE = 1
    UNCLEAR = 2


def article(word: str) -> str:
    """The indefinite article for a word: "an orange", "a red"."""
    return "an" if word[0] in "aeiou" else "a"


def noun(shape: str, colour: str | None = None) -> str:
    """The noun phrase of a shape: "a red circle", "an orange star", "red stripes", "stripes"."""
    words = f"{colour} {shape}" if colour else shape
    return words if shape == "stripes" else f"{article(words)} {words}"


def _phrase(position: str, rng: np.random.Generator) -> str:
    options = POSITION_PHRASES[position]
    return options[rng.integers(len(options))]


def _pick(rng: np.random.Generator, *options: str) -> str:
    return options[rng.integers(len(options))]


def _on(f: Facts) -> str:
    return f"on {article(f['background'])} {f['background']} background"


@dataclass(frozen=True)
class Template:
    """A way of writing a caption: the facts whose values it names, facts it fixes, and the writer."""

    names: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...]
    write: Callable[[Facts, np.random.Generator], str]


_T = Template
TEMPLATES: tuple[Template, ...] = (
    _T(("background",), (("kind", "flat"),), lambda f, r: f["background"]),
    _T(("background",), (("kind", "flat"),), lambda f, r: _pick(
        r, f"{article(f['background'])} {f['background']} image", f"plain {f['background']}",
        f"all {f['background']}", f"{article(f['background'])} {f['background']} field")),
    _T(("background",), (), lambda f, r: _pick(r, "", f"{article(f['background'])} ") + f"{f['background']} background"),
    _T((), (("kind", "noise"),), lambda f, r: _pick(r, "noise", "random noise", "a noisy image", "static")),
    _T(("left", "right"), (), lambda f, r: f"{f['left']} {_phrase('left', r)} and {f['right']} {_phrase('right', r)}"),
    _T(("left", "right"), (), lambda f, r: f"left half {f['left']}, right half {f['right']}"),
    _T(("left",), (), lambda f, r: f"{f['left']} {_phrase('left', r)}"),
    _T(("right",), (), lambda f, r: f"{f['right']} {_phrase('right', r)}"),
    _T(("top", "bottom"), (), lambda f, r: f"{f['top']} {_phrase('top', r)} and {f['bottom']} {_phrase('bottom', r)}"),
    _T(("top", "bottom"), (), lambda f, r: f"top half {f['top']}, bottom half {f['bottom']}"),
    _T(("top",), (), lambda f, r: f"{f['top']} {_phrase('top', r)}"),
    _T(("bottom",), (), lambda f, r: f"{f['bottom']} {_phrase('bottom', r)}"),
    _T(("colour", "shape"), (), lambda f, r: noun(f["shape"], f["colour"])),
    _T(("shape",), (), lambda f, r: noun(f["shape"])),
    _T(("colour",), (("kind", "shape"),), lambda f, r: f"{article(f['colour'])} {f['colour']} shape"),
    _T(("colour", "shape", "background"), (), lambda f, r: f"{noun(f['shape'], f['colour'])} {_on(f)}"),
    _T(("shape", "background"), (), lambda f, r: f"{noun(f['shape'])} {_on(f)}"),
    _T(("shape", "position"), (), lambda f, r: f"{noun(f['shape'])} {_phrase(f['position'], r)}"),
    _T(("colour", "shape", "position"), (), lambda f, r: f"{noun(f['shape'], f['colour'])} {_phrase(f['position'], r)}"),
    _T(("position",), (("kind", "shape"),), lambda f, r: f"a shape {_phrase(f['position'], r)}"),
    _T(("colour", "shape", "position", "background"), (),
       lambda f, r: f"{noun(f['shape'], f['colour'])} {_phrase(f['position'], r)} {_on(f)}"),
)


def _write(index: int, facts: Facts, rng: np.random.Generator) -> Caption:
    template = TEMPLATES[index]
    asserted = {name: facts[name] for name in template.names} | dict(template.fixed)
    return Caption(template.write(facts, rng), frozenset(asserted.items()), index)


def _applies(template: Template, facts: Facts) -> bool:
    return all(n in facts for n in template.names) and all(facts.get(n) == v for n, v in template.fixed)


def true_captions(view: ViewFacts, rng: np.random.Generator) -> list[Caption]:
    """One caption per template that is true of a view (phrasings drawn from ``rng``)."""
    facts = dict(view.facts)
    return [_write(i, facts, rng) for i, t in enumerate(TEMPLATES) if _applies(t, facts)]


def sample_caption(view: ViewFacts, rng: np.random.Generator) -> Caption:
    """One true caption of a view, uniformly among the templates that apply to it."""
    facts = dict(view.facts)
    usable = [i for i, t in enumerate(TEMPLATES) if _applies(t, facts)]
    return _write(usable[rng.integers(len(usable))], facts, rng)


def _alternatives(facts: Facts, names: tuple[str, ...], rng: np.random.Generator) -> list[Facts]:
    """Facts with one named value replaced by another of its kind, or two named colours swapped."""
    out = []
    for name in names:
        domain = _DOMAINS.get(name, tuple(COLOURS))
        others = [v for v in domain if v != facts[name]]
        out += [facts | {name: others[i]} for i in rng.permutation(len(others))[:2]]
    colours = [n for n in names if n not in _DOMAINS]
    if len(colours) == 2:
        a, b = colours
        out.append(facts | {a: facts[b], b: facts[a]})
    return out


def contrast_captions(caption: Caption, count: int, rng: np.random.Generator) -> list[Caption]:
    """Up to ``count`` captions written like ``caption`` that differ in one named fact (hard negatives)."""
    template = TEMPLATES[caption.template]
    options = _alternatives(dict(caption.facts), template.names, rng)
    chosen = rng.permutation(len(options))[:count]
    return [_write(caption.template, options[i], rng) for i in chosen]


def match(caption: Caption, view: ViewFacts) -> Match:
    """Whether a caption is true, false or undecidable for a view (see the module docstring)."""
    missing = caption.facts - view.facts
    if not missing:
        return Match.TRUE
    if all(name in view.unclear for name, _ in missing):
        return Match.UNCLEAR
    return Match.FALSE


@dataclass(frozen=True)
class CaptionedBatch:
    """Whole synthetic pictures with one true caption each and the facts they show.

    Shape: images [N, 3, size, size].
    """

    images: torch.Tensor
    captions: list[Caption]
    scenes: list[Scene]
    views: list[ViewFacts]


def captioned_batch(count: int, size: int, seed: int) -> CaptionedBatch:
    """A fresh, reproducible batch of random scenes drawn whole, each with a random true caption."""
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng) for _ in range(count)]
    views = [view_facts(scene) for scene in scenes]
    captions = [sample_caption(view, rng) for view in views]
    images = torch.stack([render_scene(scene, size) for scene in scenes])
    return CaptionedBatch(images, captions, scenes, views)
