"""The synthetic captioned pictures: reproducible, drawn as described, captioned truthfully."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamloom_train.captions import (
    Match,
    captioned_batch,
    contrast_captions,
    match,
    noun,
    sample_caption,
    true_captions,
)
from dreamloom_train.probes import make_probe
from dreamloom_train.scenes import COLOURS, Scene, SceneKind, ViewFacts, render_scene, sample_scene, view_facts


def test_same_seed_same_batch_and_other_seed_differs() -> None:
    a, b, c = captioned_batch(12, 32, seed=5), captioned_batch(12, 32, seed=5), captioned_batch(12, 32, seed=6)
    assert torch.equal(a.images, b.images)
    assert [x.text for x in a.captions] == [x.text for x in b.captions]
    assert not torch.equal(a.images, c.images)


def test_every_caption_is_true_of_its_own_picture() -> None:
    batch = captioned_batch(60, 32, seed=1)
    assert all(match(caption, view) is Match.TRUE for caption, view in zip(batch.captions, batch.views))


@pytest.mark.parametrize("name", list(COLOURS))
def test_a_flat_field_has_its_named_colour_and_caption(name: str) -> None:
    rng = np.random.default_rng(3)
    scene = next(s for s in iter(lambda: sample_scene(rng, SceneKind.FLAT), None) if s.background == name)
    image = render_scene(scene, 16)
    assert torch.allclose(image.mean(dim=(1, 2)), torch.tensor(COLOURS[name]), atol=0.07 + 1e-6)
    assert name in {c.text for c in true_captions(view_facts(scene), rng)}


def test_split_halves_have_the_named_colours() -> None:
    rng = np.random.default_rng(0)
    for _ in range(10):
        scene = sample_scene(rng, SceneKind.SPLIT)
        image = render_scene(scene, 40)
        first, second = (image[:, :, :8], image[:, :, -8:]) if scene.axis == "x" else (image[:, :8], image[:, -8:])
        assert torch.allclose(first.mean(dim=(1, 2)), torch.tensor(COLOURS[scene.first]), atol=0.08)
        assert torch.allclose(second.mean(dim=(1, 2)), torch.tensor(COLOURS[scene.second]), atol=0.08)


@pytest.mark.parametrize("shape", ["circle", "square", "triangle", "star"])
def test_shape_centre_has_the_shape_colour_and_corner_the_background(shape: str) -> None:
    red, blue = (0.9, 0.1, 0.1), (0.1, 0.1, 0.9)
    scene = Scene(SceneKind.SHAPE, "blue", "red", shape, "centre", radius=0.2, rgb=(red, blue))
    image = render_scene(scene, 64)
    assert torch.allclose(image[:, 32, 32], torch.tensor(red))
    assert torch.allclose(image[:, 2, 2], torch.tensor(blue))


def test_window_facts_follow_the_cutout() -> None:
    scene = Scene(SceneKind.SPLIT, axis="x", boundary=0.5, first="red", second="blue")
    assert view_facts(scene, (0.0, 0.0, 0.4)).facts == {("kind", "flat"), ("background", "red")}
    assert view_facts(scene, (0.6, 0.2, 0.4)).facts == {("kind", "flat"), ("background", "blue")}
    assert ("left", "red") in view_facts(scene, (0.2, 0.0, 0.6)).facts
    assert view_facts(scene, (0.05, 0.0, 0.5)) is None  # boundary near the edge: too ambiguous to caption
    star = Scene(SceneKind.SHAPE, "blue", "red", "star", "left", centre=(0.27, 0.5), radius=0.15)
    assert ("position", "left") in view_facts(star).facts
    assert ("position", "centre") in view_facts(star, (0.0, 0.25, 0.54)).facts


def test_caption_truth_is_true_false_or_unclear() -> None:
    flat_red = ViewFacts(frozenset({("kind", "flat"), ("background", "red")}))
    cut_shape = ViewFacts(frozenset({("background", "red")}), frozenset({"kind", "colour", "shape", "position"}))
    rng = np.random.default_rng(0)
    red = next(c for c in true_captions(flat_red, rng) if c.text == "red")
    assert match(red, flat_red) is Match.TRUE
    assert match(red, cut_shape) is Match.UNCLEAR
    background = next(c for c in true_captions(flat_red, rng) if c.text.endswith("red background"))
    assert match(background, cut_shape) is Match.TRUE
    star = Scene(SceneKind.SHAPE, "blue", "green", "star", "top", centre=(0.5, 0.27), radius=0.15)
    assert match(sample_caption(view_facts(star), rng), flat_red) is Match.FALSE


def test_contrast_captions_change_one_fact_or_swap_colours_and_are_false() -> None:
    star = Scene(SceneKind.SHAPE, "blue", "green", "star", "top", centre=(0.5, 0.27), radius=0.15)
    view, rng = view_facts(star), np.random.default_rng(1)
    caption = next(c for c in true_captions(view, rng) if c.text == "a green star on a blue background")
    contrasts = contrast_captions(caption, 10, rng)
    assert "a blue star on a green background" in {c.text for c in contrasts}  # the two colours swapped
    for contrast in contrasts:
        assert len(contrast.facts - caption.facts) in (1, 2) and match(contrast, view) is Match.FALSE


def test_noun_phrases_use_the_right_article() -> None:
    assert noun("star", "orange") == "an orange star"
    assert noun("circle", "red") == "a red circle"
    assert noun("stripes", "blue") == "blue stripes"


def test_probe_labels_name_the_drawn_fact() -> None:
    probe = make_probe("colour", 20, 8, seed=2)
    means = probe.images.mean(dim=(2, 3))
    targets = torch.tensor([COLOURS[probe.prompts[i]] for i in probe.labels.tolist()])
    assert torch.allclose(means, targets, atol=0.07 + 1e-6)
