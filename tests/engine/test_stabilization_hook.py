"""StabilizationHook on its own: its saved state when it aims at nothing, ``aim_at`` (the picture Video Source
aims at instead of the moved one), and the fixed random stream of the semantic re-embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dreamloom.engine.frames import FrameStart
from dreamloom.engine.image_terms import PictureTerm
from dreamloom.engine.run import Run, build_run
from dreamloom.engine.stabilization import StabilizationHook, stabilization_generator
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.plan import build_plan
from dreamloom.settings.loading import load_settings

from .conftest import write_picture

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run_of(**values: object) -> Run:
    base = {"ViTB32": False, "scenes": " ", "width": 16, "height": 16, "seed": 3, "smoothing_weight": 0,
            "display_every": 0, "steps_per_scene": 8, "pre_animation_steps": 2, "steps_per_frame": 2,
            "frames_per_second": 2, "animation_mode": "2D", "translate_x": 3, "sampling_mode": "nearest"}
    return build_run(build_plan(load_settings({**base, **values})), CPU)


def hook_and_term(run: Run, label: str) -> tuple[StabilizationHook, PictureTerm]:
    (hook,) = [hook for hook in run.loop.hooks if hook.name == "stabilization"]
    (term,) = [term for term in run.optimiser.image_terms if term.label == label]
    assert isinstance(hook, StabilizationHook) and isinstance(term, PictureTerm)
    return hook, term


def test_a_hook_that_aims_at_nothing_saves_only_its_frame_and_restores_it() -> None:
    write_picture(Path("init.png"), [(255, 0, 0), (0, 0, 255)], size=(16, 16))
    hook, term = hook_and_term(run_of(init_image="init.png", direct_init_weight=1), "init image (direct)")
    assert not hook.aims and hook.state() == {} and term.enabled is True
    hook.on_frame(FrameStart(frame=3, step=6, t=1.5), None)  # type: ignore[arg-type]
    state = hook.state()
    assert list(state) == ["frame"] and int(state["frame"]) == 3 and hook.picture is None
    assert term.enabled is False

    restored, restored_term = hook_and_term(run_of(init_image="init.png", direct_init_weight=1), "init image (direct)")
    restored.load_state(state)
    assert (restored.frame, restored.picture, restored_term.enabled) == (3, None, False)


def test_aim_at_gives_the_target_instead_of_the_moved_picture() -> None:
    run = run_of(direct_stabilization_weight=1)
    _, term = hook_and_term(run, "stabilization (direct)")
    frame = Image.new("RGB", (16, 16), (10, 200, 30))
    hook = StabilizationHook(run.model, run.optimiser.image_terms, None, 3, aim_at=lambda: frame)
    hook.on_frame(FrameStart(frame=1, step=2, t=0.5), None)  # type: ignore[arg-type]
    assert np.array_equal(np.asarray(hook.picture), np.asarray(frame)) and term.enabled is True
    assert float(term.raw(picture_to_tensor(frame))) == 0.0
    assert not np.array_equal(np.asarray(run.model.to_pil()), np.asarray(frame))


def test_the_re_embedding_stream_of_a_seed_and_frame_never_changes() -> None:
    """numpy's SeedSequence([seed, 2, frame]), one 64-bit word (a render resumed by a later version must
    re-embed as the first did): the value below is that word for seed 7, frame 3."""
    assert stabilization_generator(7, 3).initial_seed() == 3368478477221973721
