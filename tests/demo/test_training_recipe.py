"""The demo perceptor's training recipe (package dreamloom_train): its labels, losses and finishing step."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from dreamloom.perception.demo_model import DEMO_MODEL_NAME, register_demo_model
from dreamloom_train.captions import Match, captioned_batch
from dreamloom_train.colour_paths import ColourPaths, make_colour_paths, path_loss
from dreamloom_train.cone import shift_into_cone
from dreamloom_train.fact_heads import FACT_VALUES, fact_labels
from dreamloom_train.losses import contrastive_loss
from dreamloom_train.preprocess import normalise
from dreamloom_train.scenes import COLOURS, SHAPES
from dreamloom_train.train import parse_overrides


def test_fact_labels_index_each_stated_fact_and_mark_the_rest_unknown() -> None:
    labels = fact_labels(frozenset({("shape", "star"), ("colour", "blue"), ("kind", "shape")}))
    names = list(FACT_VALUES)
    assert labels[names.index("shape")] == SHAPES.index("star")
    assert labels[names.index("colour")] == list(COLOURS).index("blue")
    assert labels[names.index("kind")] == FACT_VALUES["kind"].index("shape")
    assert sum(label >= 0 for label in labels) == 3
    assert fact_labels(None) == [-1] * len(names)


def test_contrastive_loss_skips_views_without_a_decidable_positive() -> None:
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0], [3.0, 3.0]])
    truth = torch.tensor([[1, 0], [0, 1], [int(Match.UNCLEAR)] * 2])
    loss = contrastive_loss(logits, truth)
    two_rows = contrastive_loss(logits[:2], truth[:2])
    assert torch.isfinite(loss) and torch.allclose(loss, two_rows)


def test_path_loss_is_zero_only_when_every_step_climbs_by_the_margin() -> None:
    a, b = torch.eye(4)[0], torch.eye(4)[1]
    amounts = torch.tensor([[0.2, 0.6]])
    paths = ColourPaths(torch.zeros(2, 3, 1, 1), ["a", "b"], amounts)
    text = torch.stack([a, b])
    climbing = torch.stack([0.9 * a + 0.1 * b, 0.3 * a + 0.7 * b])
    assert float(path_loss(climbing, text, paths, margin=0.3)) == 0.0
    flat = torch.stack([0.5 * a + 0.5 * b, 0.5 * a + 0.5 * b])
    assert float(path_loss(flat, text, paths, margin=0.3)) == pytest.approx(2 * 0.3 * 0.4)


def _nearest_colour(rgb: torch.Tensor) -> str:
    names = list(COLOURS)
    return names[int(torch.cdist(rgb[None], torch.tensor(list(COLOURS.values())))[0].argmin())]


def test_colour_paths_blend_from_the_first_captioned_colour_towards_the_second() -> None:
    paths = make_colour_paths(8, np.random.default_rng(1), torch.Generator().manual_seed(1))
    assert paths.pictures.shape == (16, 3, 64, 64) and len(paths.captions) == 16
    assert bool((paths.amounts[:, 0] <= paths.amounts[:, 1]).all())
    checked = 0
    for k in range(0, 8, 2):  # even pairs blend the whole picture
        low, high = paths.amounts[k].tolist()
        if high - low < 0.2:
            continue
        near, far = (paths.pictures[2 * k + i].mean(dim=(1, 2)) for i in (0, 1))
        step = (far - near) / (high - low)  # = B - A
        first, second = near - step * low, near - step * low + step
        assert _nearest_colour(first) in paths.captions[2 * k]
        assert _nearest_colour(second) in paths.captions[2 * k + 1]
        checked += 1
    assert checked >= 2
    for k in range(1, 8, 2):  # odd pairs cover a share of the picture equal to the amount with B
        first, second = (_named(paths.captions[2 * k + i]) for i in (0, 1))
        for i in (0, 1):
            pixels = paths.pictures[2 * k + i].flatten(1).T
            to_b = (pixels - torch.tensor(COLOURS[second])).norm(dim=1)
            to_a = (pixels - torch.tensor(COLOURS[first])).norm(dim=1)
            assert float((to_b < to_a).float().mean()) == pytest.approx(float(paths.amounts[k, i]), abs=0.03)


def _named(caption: str) -> str:
    """The colour a flat caption names ("a red field", "plain blue", …)."""
    (name,) = [word for word in caption.split() if word in COLOURS]
    return name


def test_the_cone_shift_closes_the_angles_and_moves_every_embedding_by_one_vector() -> None:
    torch.manual_seed(0)
    register_demo_model()
    model = open_clip.create_model(DEMO_MODEL_NAME).eval()
    images = normalise(captioned_batch(8, 64, 5).images, model)
    with torch.no_grad():
        before = model.encode_image(images)
    leaks = shift_into_cone(model, amount=1.5, seed=3)
    with torch.no_grad():
        after = model.encode_image(images)
    shift = after - before
    assert torch.allclose(shift, shift[0].expand_as(shift), atol=1e-5)
    assert leaks < 0.05


def test_config_overrides_take_the_field_type_and_an_unknown_field_names_the_choices() -> None:
    assert parse_overrides(["steps=12", "path_margin=0.5"]) == {"steps": 12, "path_margin": 0.5}
    with pytest.raises(SystemExit, match="--set stepz=3: no TrainConfig field 'stepz'; fields: .*steps"):
        parse_overrides(["stepz=3"])
