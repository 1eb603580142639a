"""SemanticGuide end to end with a hand-computable colour perceptor and a tiny random CLIP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from dreamloom.errors import InputFileError, PromptError
from dreamloom.perception.augment import AugmentParams
from dreamloom.perception.cutouts import CutoutParams, CutoutSettings
from dreamloom.perception.guide import SemanticGuide
from dreamloom.plan import SceneBlend
from dreamloom.settings.choices import InterpolationMode
from dreamloom.perception.image_prompts import ImageTarget, image_prompt_distances
from dreamloom.perception.views import PerceptorDraw

from gradient_check import assert_gradient_matches_slopes
from mask_videos import black_white_half, write_mask_video
from perception_fakes import colour_perceptor, scenes

PURPLE_TO_RED = (math.pi / 4) ** 2 / 2


def _neutral(count: int, size: int) -> AugmentParams:
    return AugmentParams(
        warp=torch.eye(3).repeat(count, 1, 1), saturation=torch.ones(count), hue=torch.zeros(count),
        erase=torch.zeros(count, 4), noise=torch.zeros(count, 3, size, size),
    )


def _halves_draw(size: int = 4) -> PerceptorDraw:
    """A left-half and a right-half cutout, no augmentation."""
    params = CutoutParams(torch.tensor([[0.0, 0.0], [0.5, 0.0]]), torch.tensor([[0.5, 1.0], [0.5, 1.0]]), 0.0)
    return PerceptorDraw(params, _neutral(2, size))


def _purple(requires_grad: bool = True) -> torch.Tensor:
    image = torch.zeros(1, 3, 8, 8)
    image[:, 0] = 0.5
    image[:, 2] = 0.5
    return image.requires_grad_(requires_grad)


def _guide(text: str, perceptors=None, **settings) -> SemanticGuide:
    guide = SemanticGuide(perceptors or [colour_perceptor()], CutoutSettings(**settings))
    guide.prepare(scenes(text), torch.Generator().manual_seed(0))
    return guide


def test_left_mask_pulls_only_the_left_half() -> None:
    guide = _guide("red:1_l")
    image = _purple()
    (term,) = guide.losses_for(image, [_halves_draw()], 0, {})
    assert term.label == "red"
    assert float(term.weighted.detach()) == pytest.approx(PURPLE_TO_RED, rel=1e-5)
    assert float(term.raw) == pytest.approx(PURPLE_TO_RED, rel=1e-5)
    term.weighted.backward()
    grad = image.grad[0]
    assert float(grad[:, :, :4].abs().sum()) > 0
    assert float(grad[:, :, 4:].abs().sum()) == 0.0


def test_negative_weight_pushes_away_until_its_stop_and_weights_follow_t() -> None:
    guide = _guide("red:-t:-0.2 | blue:2")
    image = _purple()
    red, blue = guide.losses_for(image, [_halves_draw()], 0, {"t": 3.0})
    assert float(red.weighted.detach()) == pytest.approx(-3 * PURPLE_TO_RED, rel=1e-5)
    assert float(blue.weighted.detach()) == pytest.approx(2 * PURPLE_TO_RED, rel=1e-5)
    red.weighted.backward()  # d = 0.31 > 0.2: the push has already stopped
    assert float(image.grad.abs().sum()) == 0.0


def test_semantic_mask_with_cutoff_selects_cutouts_near_the_phrase() -> None:
    guide = _guide("green:1_sky_0")  # threshold 0.7: the cyan right half is near "sky", the yellow left is not
    image = torch.zeros(1, 3, 8, 8)
    image[:, 1] = 1.0
    image[:, 0, :, :4] = 1.0
    image[:, 2, :, 4:] = 1.0
    image.requires_grad_(True)
    (term,) = guide.losses_for(image, [_halves_draw()], 0, {})
    term.weighted.backward()
    assert float(image.grad[0, :, :, :4].abs().sum()) == 0.0
    assert float(image.grad[0, :, :, 4:].abs().sum()) > 0


def test_image_mask_file_weights_cutouts(tmp_path: Path) -> None:
    picture = Image.new("L", (8, 8), 0)
    picture.paste(255, (0, 0, 4, 8))
    picture.save(tmp_path / "left.png")
    guide = _guide(f"red:1_[-{tmp_path / 'left.png'}]")
    (term,) = guide.losses_for(_purple(False), [_halves_draw()], 0, {})
    assert float(term.weighted.detach()) == pytest.approx(PURPLE_TO_RED * math.sqrt(2) / 2, rel=1e-5)


def test_image_prompt_matches_cutouts_by_position() -> None:
    target = ImageTarget(embeddings=[torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])],
                         centres=[torch.tensor([[0.25, 0.5], [0.75, 0.5]])])
    swapped = CutoutParams(torch.tensor([[0.5, 0.0], [0.0, 0.0]]), torch.tensor([[0.5, 1.0], [0.5, 1.0]]), 0.0)
    current = [torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])]  # right cutout is blue, left is red
    distances = image_prompt_distances(target, current, [PerceptorDraw(swapped, _neutral(2, 4))])
    assert distances.tolist() == pytest.approx([0.0, 0.0], abs=1e-6)


def test_image_prompt_of_the_image_itself_scores_the_offset(tmp_path: Path) -> None:
    picture = Image.new("RGB", (8, 8), (255, 0, 0))
    picture.paste((0, 0, 255), (4, 0, 8, 8))
    picture.save(tmp_path / "prompt.png")
    guide = SemanticGuide([colour_perceptor()], CutoutSettings(cutouts=6))
    guide.prepare(scenes(f"[{tmp_path / 'prompt.png'}]:1:0.75"), torch.Generator().manual_seed(7))
    image = torch.zeros(1, 3, 8, 8)
    image[:, 0, :, :4] = 1.0
    image[:, 2, :, 4:] = 1.0
    image.requires_grad_(True)
    (term,) = guide.losses(image, 0, {}, torch.Generator().manual_seed(7))  # the same draws as the prompt
    assert float(term.raw) == pytest.approx(0.7, abs=1e-5)
    assert term.label == display_label_of(tmp_path / "prompt.png")
    term.weighted.backward()  # 0.7 < stop 0.75: no pull
    assert float(image.grad.abs().sum()) == 0.0


def display_label_of(path: Path) -> str:
    text = f"[{path}] (semantic)"
    return f"{text[:20]}..{text[-5:]}" if len(text) > 27 else text


def test_micro_batches_split_cutouts_and_accumulate() -> None:
    guide = _guide("red", cutouts=6, gradient_accumulation_steps=3)
    batches = guide.micro_batches(torch.Generator().manual_seed(1), (8, 8))
    assert [[len(draw) for draw in batch] for batch in batches] == [[2], [2], [2]]
    again = guide.micro_batches(torch.Generator().manual_seed(1), (8, 8))
    assert torch.equal(batches[2][0].cutouts.offsets, again[2][0].cutouts.offsets)
    image = torch.rand(1, 3, 8, 8, requires_grad=True)
    for batch in batches:
        (term,) = guide.losses_for(image, batch, 0, {})
        (term.weighted / len(batches)).backward()
    # the same six cutouts in one batch: the mean over six equals the mean of the three micro-batch means
    whole = [PerceptorDraw(CutoutParams(torch.cat([b[0].cutouts.offsets for b in batches]),
                                        torch.cat([b[0].cutouts.sizes for b in batches]), batches[0][0].cutouts.border),
                           AugmentParams(**{name: torch.cat([getattr(b[0].augment, name) for b in batches])
                                            for name in ("warp", "saturation", "hue", "erase", "noise")}))]
    single = image.detach().clone().requires_grad_(True)
    (term,) = guide.losses_for(single, whole, 0, {})
    term.weighted.backward()
    assert float(single.grad.abs().max()) > 0
    assert torch.allclose(image.grad, single.grad, rtol=1e-4, atol=1e-8)


def test_every_mask_kind_runs_through_a_random_step(tmp_path: Path, tiny_clip) -> None:
    Image.new("L", (16, 16), 200).save(tmp_path / "m.png")
    Image.new("RGB", (40, 24), (10, 200, 30)).save(tmp_path / "p.png")
    write_mask_video(tmp_path / "v.mp4", black_white_half())
    text = (f"a red fox:1_l | a dog:-1_sky_0.4:-0.9 | [{tmp_path / 'p.png'}]:0.5_[{tmp_path / 'm.png'}] "
            f"|| green:1_[-{tmp_path / 'v.mp4'}] | x:1_smoke")
    guide = SemanticGuide([tiny_clip, tiny_clip], CutoutSettings(cutouts=4, border_mode="mirror"))
    guide.prepare(scenes(text), torch.Generator().manual_seed(0))
    assert [prompt.original for prompt, _ in guide.video_masks] == [f"green:1_[-{tmp_path / 'v.mp4'}]"]
    image = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(1), requires_grad=True)

    def terms_of(picture: torch.Tensor) -> list:
        generator = torch.Generator().manual_seed(2)  # the same cutouts and augmentations at every call
        return guide.losses(picture, 0, {}, generator) + guide.losses(picture, 1, {}, generator)

    def exact_part(picture: torch.Tensor) -> torch.Tensor:
        """The terms whose gradient is the true one: the image and video masks weight cutouts by constants,
        while a letter mask's stops have a straight-through gradient and a semantic mask is a detached
        function of the image (both as in pytti)."""
        terms = terms_of(picture)
        return terms[2].weighted + terms[3].weighted

    terms = terms_of(image)
    assert [t.label for t in terms] == ["a red fox", "a dog", display_label_of(tmp_path / "p.png"), "green", "x"]
    (gradient,) = torch.autograd.grad(terms[2].weighted + terms[3].weighted, image)
    left = (torch.arange(48) < 24).to(image.dtype)
    assert_gradient_matches_slopes(exact_part, image, gradient, step=1e-2, rel=2e-3, region=left)


def test_too_long_prompt_is_an_error_naming_it(tiny_clip) -> None:
    long_text = " ".join(["word"] * 80)
    with pytest.raises(PromptError, match="too long for perceptor tiny"):
        _guide(f"{long_text}:2", [tiny_clip])


@pytest.mark.parametrize(
    "text", ["[{d}/missing.png]", "red:1_[{d}/missing.png]", "[{d}/not_image.png]", "red:1_[{d}/missing.mp4]"]
)
def test_missing_or_broken_files_name_prompt_and_path(tmp_path: Path, text: str) -> None:
    (tmp_path / "not_image.png").write_text("hello")
    prompt = text.format(d=tmp_path)
    with pytest.raises(InputFileError, match=str(tmp_path)) as caught:
        _guide(prompt)
    quoted = repr(prompt) if len(prompt) <= 80 else repr(prompt[:80] + "…")  # long prompts are cut at 80
    assert str(caught.value).startswith(f"prompt {quoted}: ")


def test_embedding_blend_embeds_once_and_moves_targets_in_clip_space() -> None:
    guide = _guide("red || blue")
    guide.interpolation = InterpolationMode.EMBEDDING
    image = _purple(requires_grad=False)
    draws = [_halves_draw()]
    ((scene, plain_blue),) = guide.scene_losses(image, draws, SceneBlend(1), {})
    assert scene == 1 and float(plain_blue[0].raw) == pytest.approx(PURPLE_TO_RED, rel=1e-5)  # 45° from blue too
    ((_, halfway),) = guide.scene_losses(image, draws, SceneBlend(1, 0, 0.5), {})
    assert float(halfway[0].raw) == pytest.approx(0.0, abs=1e-6)  # the red-blue midpoint is purple
    ((_, arrived),) = guide.scene_losses(image, draws, SceneBlend(1, 0, 1.0), {})
    assert float(arrived[0].raw) == pytest.approx(PURPLE_TO_RED, rel=1e-5)
    ((_, started),) = guide.scene_losses(image, draws, SceneBlend(1, 0, 0.0), {})
    assert float(started[0].raw) == pytest.approx(PURPLE_TO_RED, rel=1e-5)  # still the red target


def test_loss_blend_scores_both_scenes_and_scales_their_weighted_losses() -> None:
    guide = _guide("red || blue:2")
    image = _purple(requires_grad=False)
    draws = [_halves_draw()]
    ((_, (red,)),) = guide.scene_losses(image, draws, SceneBlend(0), {})
    ((_, (blue,)),) = guide.scene_losses(image, draws, SceneBlend(1), {})
    (new, (blue_scaled,)), (previous, (red_scaled,)) = guide.scene_losses(image, draws, SceneBlend(1, 0, 0.25), {})
    assert (new, previous) == (1, 0)
    assert float(blue_scaled.weighted) == pytest.approx(0.25 * float(blue.weighted), rel=1e-6)
    assert float(red_scaled.weighted) == pytest.approx(0.75 * float(red.weighted), rel=1e-6)
    assert torch.equal(blue_scaled.raw, blue.raw) and torch.equal(red_scaled.raw, red.raw)  # logs stay unscaled
