"""Zero-shot probe sets of whole synthetic pictures, and the demo perceptor's accuracy on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import open_clip
import torch

from dreamloom.perception.demo_model import DEMO_MODEL_NAME
from dreamloom_train.captions import article, noun
from dreamloom_train.preprocess import normalise
from dreamloom_train.scenes import COLOURS, POSITION_PHRASES, POSITIONS, SHAPES, SceneKind, render_scene, sample_scene
from dreamloom_train.scenes import view_facts


@dataclass(frozen=True)
class Probe:
    """A zero-shot test: pictures, the candidate prompts, and the index of the right prompt per picture."""

    name: str
    images: torch.Tensor
    prompts: list[str]
    labels: torch.Tensor


_PROBES = {
    "colour": (SceneKind.FLAT, "background", list(COLOURS), lambda c: c),
    "object colour": (SceneKind.SHAPE, "colour", list(COLOURS), lambda c: f"{article(c)} {c} shape"),
    "background": (SceneKind.SHAPE, "background", list(COLOURS), lambda c: f"{c} background"),
    "shape": (SceneKind.SHAPE, "shape", list(SHAPES), noun),
    "position": (SceneKind.SHAPE, "position", list(POSITIONS), lambda p: f"a shape {POSITION_PHRASES[p][0]}"),
    "split": (SceneKind.SPLIT, "left", list(COLOURS), lambda c: f"{c} on the left"),
}
PROBE_NAMES: tuple[str, ...] = tuple(_PROBES)


def make_probe(name: str, count: int, size: int, seed: int) -> Probe:
    """Whole pictures of one kind, labelled by one fact, with one prompt per possible value.

    Shape: images [count, 3, size, size].
    """
    kind, fact, values, prompt = _PROBES[name]
    rng = np.random.default_rng(seed)
    images, labels = [], []
    while len(images) < count:
        scene = sample_scene(rng, kind)
        if fact == "left" and scene.axis != "x":
            continue
        facts = dict(view_facts(scene).facts)
        images.append(render_scene(scene, size))
        labels.append(values.index(facts[fact]))
    return Probe(name, torch.stack(images), [prompt(v) for v in values], torch.tensor(labels))


@torch.no_grad()
def zero_shot_accuracy(
    model: torch.nn.Module, tokenizer: Callable[[list[str]], torch.Tensor], probe: Probe
) -> float:
    """Fraction of the probe's pictures whose most similar prompt is the right one (CLIP zero-shot)."""
    param = next(model.parameters())
    images = normalise(probe.images.to(param.device, param.dtype), model)
    image_embeds = model.encode_image(images, normalize=True)
    text_embeds = model.encode_text(tokenizer(probe.prompts).to(param.device), normalize=True)
    guesses = (image_embeds @ text_embeds.T).argmax(dim=1).cpu()
    return float((guesses == probe.labels).double().mean())


def probe_accuracies(model: torch.nn.Module, count: int, size: int, seed: int) -> dict[str, float]:
    """Zero-shot accuracy on every probe, ``count`` fresh pictures each (use a seed training never uses)."""
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    return {name: zero_shot_accuracy(model, tokenizer, make_probe(name, count, size, seed)) for name in PROBE_NAMES}
