"""The step's semantics (issue 6, items 2-3): seed, learning rate and its resets, scene blending, image losses.

Renders without perceptors use ``scenes=" "`` and direct losses; prompt behaviour uses the bundled demo
perceptor at 48 px, or the engine's loop with a hand-computable colour perceptor and neutral cutouts.
"""

from __future__ import annotations

import copy
import csv
import functools
import http.server
import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dreamloom.dsl.grammar import parse_scenes
from dreamloom.dsl.tree import SourceKind
from dreamloom.engine.frames import StepReport
from dreamloom.engine.run import Run, build_run
from dreamloom.engine.semantic import ScenePrompts, build_prompts, scenes_with_init
from dreamloom.errors import InputFileError
from dreamloom.images.factory import build_image_model
from dreamloom.perception.augment import AugmentParams
from dreamloom.perception.cutouts import CutoutParams, CutoutSettings
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom.perception.views import PerceptorDraw
from dreamloom.plan import SceneBlend, build_plan
from dreamloom.render import RenderResult, render
from dreamloom.settings.choices import InterpolationMode
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import Settings
from dreamloom.sources import load_image

from perception_fakes import colour_perceptor

from .conftest import write_picture

RED = (255, 0, 0)
BLUE = (0, 0, 255)
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _isolated(single_thread: None, tmp_path: Path, monkeypatch) -> None:
    """One torch thread (fast for tiny tensors) and the test's folder as working directory."""
    monkeypatch.chdir(tmp_path)


def settings_of(**values) -> Settings:
    """Small settings: no perceptor, no smoothing, no file but the final frame and the loss log."""
    base = dict(ViTB32=False, scenes=" ", width=16, height=16, display_every=0, save_every=0, backups=0, seed=5,
                smoothing_weight=0, steps_per_scene=10, output_dir="images_out", backup_dir="backup")
    base.update(values)
    return load_settings(base)


def run(**values) -> RenderResult:
    return render(settings_of(**values))


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)


def loss_rows(result: RenderResult) -> list[dict[str, str]]:
    with (result.folder / f"{result.base_name}_losses.csv").open() as handle:
        return list(csv.DictReader(handle))


def column(rows: list[dict[str, str]], name: str) -> list[float | None]:
    """A loss-log column, None where the loss did not run."""
    return [float(row[name]) if row[name] != "" else None for row in rows]


def run_of(prompts=None, **values) -> Run:
    """The run ``render`` would build on the CPU, with the given prompt losses if any, and without files."""
    return build_run(build_plan(settings_of(**values)), CPU, prompts=prompts)


def total_variation(picture: np.ndarray) -> float:
    return float(np.square(np.diff(picture, axis=0)).mean() + np.square(np.diff(picture, axis=1)).mean())


# --- 1. seed ---------------------------------------------------------------------------------------------

DEMO = dict(perceptors=["demo"], width=48, height=48, cutouts=4, cut_pow=1, steps_per_scene=6, scenes="red | blue:-0.5",
            smoothing_weight=0.1)


def test_the_same_seed_gives_byte_identical_pngs_and_another_seed_does_not():
    first, again, other = (run(seed=seed, **DEMO).final_picture.read_bytes() for seed in (3, 3, 4))
    assert first == again
    assert first != other


def test_the_seed_draws_the_cutouts_too(tmp_path: Path):
    """From the same init image only the cutouts and augmentations are random, and they follow the seed."""
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(48, 48))
    first, again, other = (run(seed=seed, init_image="init.png", **DEMO).final_picture.read_bytes() for seed in (3, 3, 4))
    assert first == again
    assert first != other


# --- 2. learning rate -----------------------------------------------------------------------------------

def learning_rates(run: Run) -> list[float]:
    return [group["lr"] for group in run.optimiser.optimizer.param_groups]


def test_a_null_learning_rate_uses_the_models_default_and_a_value_overrides_it():
    assert learning_rates(run_of(learning_rate=None)) == [0.02]  # Unlimited Palette (pytti RGBImage)
    assert learning_rates(run_of(learning_rate=0.3)) == [0.3]
    assert learning_rates(run_of(learning_rate=None, image_model="Limited Palette", palette_size=2,
                                 palettes=2)) == [0.02]


# --- 3. reset_lr_each_frame -----------------------------------------------------------------------------

def adam_history(reset: bool) -> tuple[list[int], list[bool]]:
    """After each step: Adam's step counter, and whether that step ran with a new optimiser."""
    run = run_of(smoothing_weight=1, steps_per_scene=12, pre_animation_steps=3, steps_per_frame=4,
                 reset_lr_each_frame=reset, learning_rate=0.05)
    counters: list[int] = []
    fresh: list[bool] = []
    seen = [run.optimiser.optimizer]

    def record(report: StepReport) -> None:
        (state,) = run.optimiser.optimizer.state.values()
        counters.append(int(state["step"]))
        fresh.append(run.optimiser.optimizer is not seen[-1])
        seen.append(run.optimiser.optimizer)
        assert learning_rates(run) == [0.05]

    run.run(0, [record])
    return counters, fresh


def test_reset_lr_each_frame_starts_a_fresh_adam_exactly_at_frame_boundaries():
    counters, fresh = adam_history(reset=True)
    # pre_animation_steps 3, steps_per_frame 4: frame boundaries at steps 3, 7 and 11
    assert [step for step, new in enumerate(fresh) if new] == [3, 7, 11]
    assert counters == [1, 2, 3, 1, 2, 3, 4, 1, 2, 3, 4, 1]


def test_without_reset_lr_each_frame_one_adam_runs_the_whole_render():
    counters, fresh = adam_history(reset=False)
    assert not any(fresh)
    assert counters == list(range(1, 13))


# --- 4. interpolation_steps -----------------------------------------------------------------------------

class _NeutralGuide(ScenePrompts):
    """Two whole-picture cutouts without augmentation, so a flat picture embeds as exactly its colour."""

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> Sequence[Sequence[PerceptorDraw]]:
        params = CutoutParams(torch.zeros(2, 2), torch.ones(2, 2), 0.0)
        augment = AugmentParams(warp=torch.eye(3).repeat(2, 1, 1), saturation=torch.ones(2), hue=torch.zeros(2),
                                erase=torch.zeros(2, 4), noise=torch.zeros(2, 3, 4, 4))
        return [[PerceptorDraw(params, augment)]]


def colour_guide(text: str, mode: InterpolationMode) -> _NeutralGuide:
    scenes = parse_scenes(text)
    guide = SemanticGuide([colour_perceptor()], CutoutSettings(cutouts=2), mode)
    guide.prepare(scenes, torch.Generator().manual_seed(0))
    return _NeutralGuide(guide, scenes)


def flat_green_loop(text: str, mode: InterpolationMode, **values) -> Run:
    """A run over ``text`` whose flat green picture never moves (learning rate 0), so the log shows targets."""
    # perceptors=["demo"] only lets the plan accept prompts; the colour guide scores them
    run = run_of(colour_guide(text, mode), perceptors=["demo"], scenes=text, **values)
    run.optimiser.optimizer.param_groups[0]["lr"] = 0.0
    run.loop.reset_lr_each_frame = False
    with torch.no_grad():
        run.model.tensor.copy_(torch.tensor([0.0, 1.0, 0.0]).view(1, 3, 1, 1).expand_as(run.model.tensor))
    run.run(0, [])
    return run


class _RecordingLosses:
    """Prompt losses that record the scene blend the loop asks for, step by step."""

    columns = ["p"]

    def __init__(self) -> None:
        self.calls: list[SceneBlend] = []

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> Sequence[Sequence[PerceptorDraw]]:
        return [[]]

    def losses(self, image, batch, blend, env):
        self.calls.append(blend)
        return (image * 0).sum(), {}


def test_loss_interpolation_ramps_the_previous_scene_out_and_the_new_one_in_by_stage():
    recorder = _RecordingLosses()
    run = run_of(recorder, perceptors=["demo"], scenes="red || green || blue", steps_per_scene=6,
                 interpolation_steps=4)
    run.run(0, [])
    assert recorder.calls[:6] == [SceneBlend(0)] * 6  # the first scene has nothing to blend from
    for scene in (1, 2):  # pytti: τ = stage / interpolation_steps; new scene · τ, previous scene · (1 − τ)
        first = scene * 6
        assert recorder.calls[first:first + 4] == [SceneBlend(scene, scene - 1, s / 4) for s in range(4)]
        assert recorder.calls[first + 4:first + 6] == [SceneBlend(scene)] * 2


def test_loss_interpolation_weights_each_scenes_prompt_losses_and_logs_both_raw():
    guide = colour_guide("red || green", InterpolationMode.LOSS)
    picture = torch.zeros(1, 3, 8, 8)
    picture[:, 0] = 1.0  # flat red: distance 0 to "red", (π/2)²/2 to "green"
    draws = guide.micro_batches(torch.Generator(), (8, 8))[0]
    total, raws = guide.losses(picture, draws, SceneBlend(1, 0, 0.25), {})
    far = (math.pi / 2) ** 2 / 2
    assert float(total) == pytest.approx(0.25 * far + 0.75 * 0.0, abs=1e-6)
    assert guide.columns == ["red", "green"]
    assert float(raws[0]) == pytest.approx(0.0, abs=1e-6) and float(raws[1]) == pytest.approx(far, rel=1e-5)


def test_loss_interpolation_logs_the_previous_scene_only_during_the_ramp():
    history = flat_green_loop("red || green", InterpolationMode.LOSS, steps_per_scene=6, interpolation_steps=4).optimiser.history
    red, green = (column_of(history, name) for name in ("red", "green"))
    assert [v is not None for v in red] == [True] * 10 + [False] * 2
    assert [v is not None for v in green] == [False] * 6 + [True] * 6


def blended_target_distance(tau: float, origin: tuple[float, float, float] = (0.5, 0.0, 0.5)) -> float:
    """Distance from flat green to the target (1 − τ)·origin + τ·green (colour perceptor); the default
    origin is mean(red, blue)."""
    target = (1 - tau) * torch.tensor(origin) + tau * torch.tensor([0.0, 1.0, 0.0])
    return float(spherical_distance(torch.tensor([0.0, 1.0, 0.0]), target))


def test_embedding_interpolation_moves_each_text_target_from_the_previous_scenes_mean_prompt():
    history = flat_green_loop("red | blue || green", InterpolationMode.EMBEDDING, steps_per_scene=6,
                              interpolation_steps=4).optimiser.history
    green = column_of(history, "green")
    assert green[:6] == [None] * 6
    # ramp start (stage 0): the target is the mean of "red" and "blue", a right angle away from green
    assert green[6] == pytest.approx((math.pi / 2) ** 2 / 2, rel=1e-5)
    assert green[6] == pytest.approx(blended_target_distance(0.0), rel=1e-5)
    assert green[8] == pytest.approx(blended_target_distance(0.5), rel=1e-5)  # middle (stage 2)
    assert green[8] == pytest.approx(math.acos(0.5 / math.sqrt(0.125 + 0.25)) ** 2 / 2, rel=1e-5)
    assert green[9] == pytest.approx(blended_target_distance(0.75), rel=1e-5)
    assert green[10] == pytest.approx(0.0, abs=1e-6) and green[11] == pytest.approx(0.0, abs=1e-6)  # end
    # only the new scene is scored: the previous scene's prompts stop at its last step
    assert [v is not None for v in column_of(history, "red")] == [True] * 6 + [False] * 6


def test_embedding_interpolation_has_no_ramp_after_a_scene_without_positive_text():
    history = flat_green_loop("red:-1 || green", InterpolationMode.EMBEDDING, steps_per_scene=6,
                              interpolation_steps=4).optimiser.history
    assert column_of(history, "green")[6:] == pytest.approx([0.0] * 6, abs=1e-6)  # its own target from the start


def test_embedding_interpolation_keeps_a_negative_prompts_target_and_fades_its_weight_in():
    guide = colour_guide("red || green | blue:-1", InterpolationMode.EMBEDDING)
    picture = torch.zeros(1, 3, 8, 8)
    picture[:, 1] = 1.0  # flat green: a right angle from "red" and from "blue"
    draws = guide.micro_batches(torch.Generator(), (8, 8))[0]
    far = (math.pi / 2) ** 2 / 2
    for tau in (0.0, 0.25, 0.5):
        total, raws = guide.losses(picture, draws, SceneBlend(1, 0, tau), {})
        green = blended_target_distance(tau, origin=(1.0, 0.0, 0.0))
        assert float(raws[guide.columns.index("blue")]) == pytest.approx(far, rel=1e-5)  # its own target
        assert float(total) == pytest.approx(green - tau * far, abs=1e-6)  # weight −1 ramps in as −τ


def column_of(history, name: str) -> list[float | None]:
    """One column of a loop's LossHistory, None where the loss did not run."""
    index = history.columns.index(name)
    return [None if math.isnan(row[index]) else row[index] for row in history.rows(0, len(history.buffer))]


# --- 5. init image losses -------------------------------------------------------------------------------

def test_semantic_init_weight_adds_a_weighted_init_prompt_to_every_scene(tmp_path: Path):
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(48, 48))
    values = dict(DEMO, scenes="red || green", steps_per_scene=3, init_image="init.png", semantic_init_weight="2")
    settings = settings_of(**values)
    plan = build_plan(settings)
    for scene in scenes_with_init(plan):
        init = scene.prompts[-1]
        assert init.kind is SourceKind.IMAGE and init.source == "init.png"
        assert float(init.weight.evaluate({"t": 0.0})) == 2.0
    guide = build_prompts(plan, CPU, torch.float32)
    picture = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    for scene in (0, 1):
        draws = guide.micro_batches(torch.Generator().manual_seed(1), (48, 48))[0]
        *_, init_term = guide.guide.losses_for(picture, draws, scene, {"t": 0.0})
        assert float(init_term.weighted) == pytest.approx(2 * float(init_term.raw), rel=1e-5)

    rows = loss_rows(run(**values))
    assert list(rows[0]) == ["step", "red", "[init.png] (semantic)", "green", "smoothing loss (TV)"]
    assert all(value is not None for value in column(rows, "[init.png] (semantic)"))  # both scenes' rows
    assert column(rows, "green")[:3] == [None] * 3


def test_direct_init_weight_pulls_the_picture_back_to_the_init_image(tmp_path: Path):
    """A blue target pulls the red init away for 10 pre-animation steps (t < 0); then the init weight returns."""
    write_picture(tmp_path / "init.png", [RED], size=(16, 16))
    write_picture(tmp_path / "blue.png", [BLUE], size=(16, 16))
    rows = loss_rows(run(init_image="init.png", direct_image_prompts="blue.png:(1 if t < 0 else 0.05)",
                         direct_init_weight="(0 if t < 0 else 1)", pre_animation_steps=10, steps_per_frame=5,
                         frames_per_second=2, steps_per_scene=60, learning_rate=0.05))
    init = column(rows, "init image (direct)")
    assert init[:10] == [None] * 10  # weight 0 while t < 0: the loss does not run
    assert all(value is not None for value in init[10:])
    assert init[-1] < init[10] / 4  # the picture went back towards the init image


# --- 6. direct image prompts: mask, stop, weight ---------------------------------------------------------

def initial_picture(**values) -> np.ndarray:
    """The random picture a render without init image starts from."""
    settings = settings_of(**values)
    model = build_image_model(settings, settings.width, settings.height, CPU)
    model.encode_random(torch.Generator().manual_seed(settings.seed))
    return np.asarray(model.to_pil(), dtype=np.float64)


def test_a_masked_direct_prompt_changes_only_the_masked_area(tmp_path: Path):
    write_picture(tmp_path / "blue.png", [BLUE], size=(16, 16))
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (0, 0, 8, 16))  # white = left half
    mask.save(tmp_path / "left.png")
    for written, changed in (("left.png", slice(0, 8)), ("[-left.png]", slice(8, 16))):
        result = run(direct_image_prompts=f"blue.png:1_{written}", steps_per_scene=80, learning_rate=0.05)
        picture, start = pixels(result.final_picture), initial_picture()
        kept = slice(8, 16) if changed.start == 0 else slice(0, 8)
        assert np.array_equal(picture[:, kept], start[:, kept])  # no gradient outside the mask
        assert np.abs(picture[:, changed] - BLUE).max() < 40
        assert np.abs(start[:, changed] - BLUE).mean() > 100


def stop_trace(prompt: str) -> list[tuple[float, float]]:
    """Per step: the logged raw direct loss and the gradient that step gave the picture (summed magnitude)."""
    run = run_of(init_image="init.png", direct_image_prompts=prompt, steps_per_scene=30, learning_rate=0.01)
    trace: list[tuple[float, float]] = []

    def record(report: StepReport) -> None:
        raw = report.history.rows(report.done - 1, report.done)[0][0]
        trace.append((raw, float(run.model.tensor.grad.abs().sum())))

    run.run(0, [record])
    return trace


def test_a_stop_halts_a_negative_direct_prompt(tmp_path: Path):
    """``-1:-0.05`` pushes away from the target only while the raw loss is below 0.05 (pytti's stop)."""
    write_picture(tmp_path / "init.png", [(200, 60, 60)], size=(16, 16))
    write_picture(tmp_path / "target.png", [(180, 80, 80)], size=(16, 16))
    stopped = stop_trace("target.png:-1:-0.05")
    free = stop_trace("target.png:-1")
    assert stopped[0][0] < 0.01 and stopped[-1][0] > 0.06  # pushed away past the stop (Adam's momentum carries on)
    assert [gradient > 0 for raw, gradient in stopped] == [raw <= 0.05 for raw, gradient in stopped]
    assert all(gradient > 0 for raw, gradient in free[:20])  # without a stop it keeps pushing
    assert free[-1][0] > stopped[-1][0]


def test_direct_prompt_weights_set_the_balance_between_targets(tmp_path: Path):
    write_picture(tmp_path / "red.png", [RED], size=(16, 16))
    write_picture(tmp_path / "blue.png", [BLUE], size=(16, 16))
    common = dict(steps_per_scene=120, learning_rate=0.05)
    to_blue = pixels(run(direct_image_prompts="red.png:1 | blue.png:3", **common).final_picture).mean(axis=(0, 1))
    to_red = pixels(run(direct_image_prompts="red.png:3 | blue.png:1", **common).final_picture).mean(axis=(0, 1))
    # The weaker colour's channel is neither the max nor the min of the pixel, so only the RGB part of the HSV
    # loss reaches it: w_r·(x − 255)² + w_b·x² is least at the weighted mean, 255/4 for weights 1 and 3.
    assert to_blue[0] == pytest.approx(255 / 4, abs=3) and to_red[2] == pytest.approx(255 / 4, abs=3)
    assert to_blue[2] > 190 and to_red[0] > 190  # the stronger colour's channel: at least its weighted mean


# --- 7. smoothing ---------------------------------------------------------------------------------------

def test_negative_smoothing_roughens_the_picture_and_positive_smoothing_smooths_it():
    common = dict(steps_per_scene=20, learning_rate=0.02)
    start = total_variation(initial_picture())
    rough = total_variation(pixels(run(smoothing_weight=-1, **common).final_picture))
    smooth = total_variation(pixels(run(smoothing_weight=1, **common).final_picture))
    assert rough > start * 1.2 and smooth < start * 0.8


def test_a_zero_smoothing_weight_leaves_the_picture_alone(tmp_path: Path):
    result = run(smoothing_weight=0, steps_per_scene=5)
    assert np.array_equal(pixels(result.final_picture), initial_picture())
    assert "smoothing loss (TV)" not in loss_rows(result)[0]


# --- 8. weights as expressions of t ----------------------------------------------------------------------

def test_weights_of_t_switch_losses_on_when_t_crosses_their_threshold(tmp_path: Path):
    write_picture(tmp_path / "blue.png", [BLUE], size=(16, 16))
    # t = (step − 2) / (2 · 2): steps 0..11 give t = −0.5, −0.25, 0, 0.25, 0.5, 0.75, 1, ...
    rows = loss_rows(run(direct_image_prompts="blue.png:(1 if t > 0.5 else 0)", smoothing_weight="0 if t < 1 else -1",
                         pre_animation_steps=2, steps_per_frame=2, frames_per_second=2, steps_per_scene=12))
    assert [value is not None for value in column(rows, "blue.png (direct)")] == [False] * 5 + [True] * 7
    assert [value is not None for value in column(rows, "smoothing loss (TV)")] == [False] * 6 + [True] * 6


# --- 9. init image: size and URL -----------------------------------------------------------------------

def test_a_minus_one_side_follows_the_init_images_aspect_ratio_truncated(tmp_path: Path):
    write_picture(tmp_path / "init.png", [RED, BLUE], size=(37, 23))
    assert Image.open(run(init_image="init.png", width=30, height=-1, steps_per_scene=1).final_picture).size == (30, 18)
    assert Image.open(run(init_image="init.png", width=-1, height=20, steps_per_scene=1).final_picture).size == (32, 20)
    wide = run(init_image="init.png", width=-1, height=10, pixel_size=2, steps_per_scene=1)
    assert Image.open(wide.final_picture).size == (32, 20)  # 16 × 10 parameter pixels, 2 × upscaled


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """An http server on 127.0.0.1 for the files of ``tmp_path/www``; yields its base URL."""
    folder = tmp_path / "www"
    folder.mkdir()
    _QuietHandler.requested = []
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requested: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _QuietHandler.requested.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """No request lines on stderr."""


def test_an_init_image_url_renders_like_the_local_file(tmp_path: Path, served: str):
    write_picture(tmp_path / "www" / "init.png", [RED, BLUE], size=(40, 20))
    common = dict(direct_image_prompts="www/init.png:1", smoothing_weight=0.5, width=-1, height=12, steps_per_scene=8)
    local = run(init_image="www/init.png", **common).final_picture
    remote = run(init_image=f"{served}/init.png", **common).final_picture
    assert Image.open(remote).size == (24, 12)
    assert remote.read_bytes() == local.read_bytes()


def test_a_render_downloads_its_init_image_url_once_though_two_losses_use_it(tmp_path: Path, served: str):
    write_picture(tmp_path / "www" / "init.png", [RED, BLUE], size=(16, 16))
    url = f"{served}/init.png"
    result = run(init_image=url, semantic_init_weight=1, direct_init_weight=1, perceptors=["demo"], scenes="red",
                 cutouts=2, steps_per_scene=1)
    columns = set(loss_rows(result)[0])
    assert "init image (direct)" in columns and len(columns - {"step", "red", "init image (direct)"}) == 1  # + semantic
    assert _QuietHandler.requested == ["/init.png"]
    load_image(url, "init_image")  # outside a render every read fetches afresh
    assert _QuietHandler.requested == ["/init.png"] * 2


def test_an_init_image_url_that_404s_is_one_clear_input_file_error(served: str):
    with pytest.raises(InputFileError, match=r"^init_image: cannot download .*/missing\.png.*404"):
        run(init_image=f"{served}/missing.png", steps_per_scene=1)
    assert not list(Path("images_out").glob("**/*.png"))


def test_a_resumed_run_weights_image_masked_cutouts_as_the_uninterrupted_run(tmp_path: Path):
    """An image mask's error-diffusion buffer changes every step; the run state carries it, so a run restored
    mid-way reproduces the uninterrupted picture exactly."""
    mask = Image.new("L", (128, 64), 0)
    mask.paste(255, (0, 0, 50, 64))
    mask.save(tmp_path / "left.png")
    # cutouts smaller than the canvas (as in the mask e2e tests), so the buffer changes the cutouts' weights
    plan = build_plan(settings_of(**dict(DEMO, scenes="red:1_[left.png] | blue:1", width=128, height=64, cut_pow=2,
                                         cutouts=6, steps_per_scene=6)))
    whole = build_run(plan, CPU)
    whole.run(0, [])
    first = build_run(plan, CPU)
    saved: list[dict] = []
    first.run(0, [lambda report: saved.append(copy.deepcopy(first.state())) if report.done == 3 else None])
    assert saved[0]["prompts"]["masks"]  # the buffer travels with the state
    resumed = build_run(plan, CPU)
    resumed.load_state(saved[0])
    resumed.run(3, [])
    assert torch.equal(resumed.model.tensor, whole.model.tensor)
