"""The semantic guide: all prompts of all scenes scored against the image through every perceptor.

How the engine calls it, once per optimiser step (pytti §4.5: the prompt gradients are averaged over
micro-batches, each with fresh cutouts and one backward)::

    draws = guide.micro_batches(generator, image_hw)       # all randomness of the step, drawn first
    for micro_batch in draws:
        terms = guide.losses_for(image, micro_batch, scene_index, env)   # or scene_losses(…, blend, …)
        loss = sum(term.weighted for term in terms) / len(draws)   # + image losses / len(draws)
        loss.backward(retain_graph=True)                   # or decode the image again per micro-batch

``guide.losses(image, scene_index, env, generator)`` is the one-micro-batch shortcut. Raw distances are
detached tensors: read them (a device sync) only when logging.

Animation changes prepared prompts between steps: :meth:`SemanticGuide.set_image_target` gives an image
prompt a new picture (semantic stabilization), :meth:`SemanticGuide.set_enabled` switches a prompt off and
on (a disabled prompt adds no loss and logs NaN), and the masks in :attr:`SemanticGuide.video_masks` show
the frame of their video that the animation asks for.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dreamloom.dsl.tree import Mask, MaskKind, Prompt, Scene, SourceKind
from dreamloom.errors import PromptError, excerpt
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.plan.timeline import SceneBlend
from dreamloom.settings.choices import InterpolationMode
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.cutouts import CutoutSettings
from dreamloom.perception.image_prompts import (
    IMAGE_PROMPT_OFFSET,
    ImageTarget,
    embed_image_prompt,
    image_prompt_distances,
)
from dreamloom.sources import load_image
from dreamloom.perception.masks import ImageMask, MaskInput, PositionalMask, SemanticMask, VideoMask
from dreamloom.perception.prompt_loss import prompt_loss, spherical_distance
from dreamloom.perception.views import PerceptorDraw, draw_views, embed_views
from dreamloom.video_frames import VideoFrames

__all__ = ["LossTerm", "SemanticGuide"]

PromptMask = PositionalMask | SemanticMask | ImageMask


@dataclass(frozen=True)
class LossTerm:
    """One prompt's contribution: ``weighted`` to back-propagate, ``raw`` mean distance to log (detached)."""

    label: str
    weighted: torch.Tensor
    raw: torch.Tensor

    def scaled(self, factor: float) -> LossTerm:
        """The same term with its weighted loss scaled (a scene fading in or out)."""
        return LossTerm(self.label, factor * self.weighted, self.raw)


@dataclass(frozen=True)
class _Ready:
    """A prompt with everything it needs per step already embedded or loaded.

    An image prompt whose picture comes later (see ``prepare``'s ``pictures``) has no ``image`` yet and is
    disabled until it gets one.
    """

    prompt: Prompt
    text: Sequence[torch.Tensor] | None  # per perceptor, for text prompts
    image: ImageTarget | None  # for image prompts
    mask: PromptMask | None
    enabled: bool = True


def _scalar(expression_value: float | tuple[float, ...]) -> float:
    """A weight written as a one-element list (pytti accident, §1.5) counts as its first value."""
    return float(expression_value[0] if isinstance(expression_value, tuple) else expression_value)


class SemanticGuide:
    """Scores an image against the prompts of a scene with ``perceptors`` (order = perceptor axis)."""

    def __init__(
        self,
        perceptors: Sequence[Perceptor],
        settings: CutoutSettings,
        interpolation: InterpolationMode = InterpolationMode.LOSS,
        video_fps: float | None = None,
    ) -> None:
        self.perceptors = list(perceptors)
        self.video_fps = video_fps  # mask videos are resampled to the animation's frame rate
        self.settings = settings
        self.interpolation = interpolation
        self._texts: dict[str, list[torch.Tensor]] = {}
        self._videos: dict[str, VideoFrames] = {}
        self._scenes: list[list[_Ready]] = []

    def embed_text(self, text: str, label: str) -> list[torch.Tensor]:
        """Per-perceptor embedding of ``text`` (cached); too long a text is a PromptError naming ``label``."""
        if text not in self._texts:
            for perceptor in self.perceptors:
                perceptor.check_text(text, label)
            self._texts[text] = [perceptor.encode_text([text])[0] for perceptor in self.perceptors]
        return self._texts[text]

    def _image_target(self, prompt: Prompt, generator: torch.Generator) -> ImageTarget:
        return self._embed(picture_to_tensor(load_image(prompt.source, f"prompt {excerpt(prompt.original)}")), generator)

    def _mask(self, prompt: Prompt, mask: Mask | None) -> PromptMask | None:
        if mask is None:
            return None
        if mask.kind is MaskKind.POSITIONAL:
            return PositionalMask(str(mask.letter))
        if mask.kind is MaskKind.SEMANTIC:
            return SemanticMask(self.embed_text(str(mask.text), prompt.original))
        if mask.kind is MaskKind.VIDEO:
            path = str(mask.path)
            if path not in self._videos:
                self._videos[path] = VideoFrames(path, f"prompt {excerpt(prompt.original)}", fps=self.video_fps)
            return VideoMask(path, inverted=mask.inverted, frames=self._videos[path])
        grey = load_image(str(mask.path), f"prompt {excerpt(prompt.original)}", mode="L")
        picture = picture_to_tensor(grey)[0, 0].contiguous()
        return ImageMask(picture, inverted=mask.inverted)

    def _ready(self, prompt: Prompt, generator: torch.Generator, given: dict[int, ImageTarget | None]) -> _Ready:
        if prompt.kind is SourceKind.TEXT:
            if not prompt.source:
                raise PromptError(f"prompt {excerpt(prompt.original)} has no text")
            text = self.embed_text(prompt.source, prompt.original)
            return _Ready(prompt, text, None, self._mask(prompt, prompt.mask))
        if id(prompt) not in given:
            return _Ready(prompt, None, self._image_target(prompt, generator), self._mask(prompt, prompt.mask))
        image = given[id(prompt)]
        return _Ready(prompt, None, image, self._mask(prompt, prompt.mask), enabled=image is not None)

    def prepare(
        self,
        scenes: Sequence[Scene],
        generator: torch.Generator,
        *,
        pictures: Sequence[tuple[Prompt, torch.Tensor | None]] = (),
    ) -> None:
        """Embed every prompt, image prompt and semantic-mask phrase of every scene once; load mask images and
        the first frame of mask videos.

        ``generator`` draws the image prompts' cutouts. Image prompts listed in ``pictures`` (these very
        objects) take the picture given instead of reading their source, embedded once for all the scenes
        they are in; a None picture leaves the prompt disabled until :meth:`set_image_target`.
        Bad files raise InputFileError naming the prompt. Shape: pictures [1, 3, H, W] in [0, 1].
        """
        pending = {id(prompt): picture for prompt, picture in pictures}
        given: dict[int, ImageTarget | None] = {}
        ready: list[list[_Ready]] = []
        for scene in scenes:
            row = []
            for prompt in scene.prompts:
                key = id(prompt)
                if key in pending and key not in given:
                    picture = pending[key]
                    given[key] = None if picture is None else self._embed(picture, generator)
                row.append(self._ready(prompt, generator, given))
            ready.append(row)
        self._scenes = ready

    def _embed(self, picture: torch.Tensor, generator: torch.Generator) -> ImageTarget:
        return embed_image_prompt(picture.contiguous(), self.perceptors, self.settings, generator)

    def set_image_target(self, prompt: Prompt, picture: torch.Tensor, generator: torch.Generator) -> None:
        """Give the image prompt ``prompt`` (the object given to :meth:`prepare`) a new target picture in every
        scene it is in, embedded once with cutouts drawn from ``generator``.

        Shape: picture [1, 3, H, W] in [0, 1].
        """
        self._update(prompt, image=self._embed(picture, generator))

    def set_enabled(self, prompt: Prompt, enabled: bool) -> None:
        """Switch ``prompt`` (the object given to :meth:`prepare`) on or off in every scene it is in; a disabled
        prompt adds no loss and its raw distance is NaN, so its loss-log column stays and shows no value."""
        if enabled and any(r.prompt is prompt and r.text is None and r.image is None for s in self._scenes for r in s):
            raise ValueError(f"prompt {excerpt(prompt.original)} has no target picture yet; call set_image_target first")
        self._update(prompt, enabled=enabled)

    def _update(self, prompt: Prompt, **changes: object) -> None:
        found = False
        for scene in self._scenes:
            for position, ready in enumerate(scene):
                if ready.prompt is prompt:
                    scene[position] = dataclasses.replace(ready, **changes)
                    found = True
        if not found:
            raise KeyError(f"prompt {excerpt(prompt.original)} is not one of the prepared prompts")

    def mask_state(self) -> dict[str, torch.Tensor]:
        """The error-diffusion buffers of the image and video masks, by scene and prompt position: they change
        every step, so a resumed run needs them to weight its cutouts as the uninterrupted run would."""
        return {f"{scene}.{position}": ready.mask.error.clone()
                for scene, readies in enumerate(self._scenes) for position, ready in enumerate(readies)
                if isinstance(ready.mask, ImageMask)}

    def load_mask_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Restore :meth:`mask_state` (after any video mask was shown its frame)."""
        for key, error in state.items():
            scene, position = (int(part) for part in key.split("."))
            mask = self._scenes[scene][position].mask
            if isinstance(mask, ImageMask):
                mask.error = error.to(mask.error)

    @property
    def video_masks(self) -> list[tuple[Prompt, VideoMask]]:
        """Video masks of all scenes, for the animation code to move with ``VideoMask.show``."""
        return [(r.prompt, r.mask) for scene in self._scenes for r in scene if isinstance(r.mask, VideoMask)]

    def micro_batches(self, generator: torch.Generator, image_hw: tuple[int, int]) -> list[list[PerceptorDraw]]:
        """All random choices of one step: per micro-batch, per perceptor, ``settings.per_batch`` cutouts.

        A CPU generator keeps the cutout boxes on the CPU, where masks and image-prompt matching read them.
        """
        return [
            [draw_views(generator, self.settings, self.settings.per_batch, image_hw, p) for p in self.perceptors]
            for _ in range(self.settings.gradient_accumulation_steps)
        ]

    def losses_for(
        self,
        image: torch.Tensor,
        draws: Sequence[PerceptorDraw],
        scene_index: int,
        env: Mapping[str, float],
    ) -> list[LossTerm]:
        """Loss terms of scene ``scene_index`` alone for one micro-batch. Shape: image [1, 3, H, W] in [0, 1]."""
        return self.scene_losses(image, draws, SceneBlend(scene_index), env)[0][1]

    def scene_losses(
        self,
        image: torch.Tensor,
        draws: Sequence[PerceptorDraw],
        blend: SceneBlend,
        env: Mapping[str, float],
    ) -> list[tuple[int, list[LossTerm]]]:
        """Loss terms of the scenes of ``blend`` on the same cutouts, embedded once, as (scene, terms) pairs.

        Outside a transition: the scene's terms. In a transition, ``interpolation_mode`` decides:
        ``loss`` (pytti) scales the scene's weighted terms by τ and the previous scene's by 1 − τ;
        ``embedding`` scores the scene alone with every positive text prompt's target moved to
        ``(1 − τ)·m + τ·t``, where ``m`` is the mean text embedding of the previous scene's positive
        prompts (the blend in CLIP space the settings documentation describes); negative text prompts keep
        their own target and their weight ramps in by τ.
        """
        embeddings = [
            embed_views(image.to(p.device), draw, p, self.settings) for p, draw in zip(self.perceptors, draws)
        ]
        inputs = MaskInput(
            offsets=torch.cat([draw.cutouts.offsets for draw in draws]),
            sizes=torch.cat([draw.cutouts.sizes for draw in draws]),
            embeddings=[e.detach() for e in embeddings],
            device=embeddings[0].device,
        )

        def terms(scene: int, toward: tuple[list[torch.Tensor] | None, float] | None = None) -> list[LossTerm]:
            return [self._term(r, embeddings, draws, inputs, env, toward) for r in self._scenes[scene]]

        if blend.previous is None:
            return [(blend.scene, terms(blend.scene))]
        if self.interpolation is InterpolationMode.EMBEDDING:
            return [(blend.scene, terms(blend.scene, (self._scene_text_mean(blend.previous, env), blend.tau)))]
        return [
            (blend.scene, [term.scaled(blend.tau) for term in terms(blend.scene)]),
            (blend.previous, [term.scaled(1.0 - blend.tau) for term in terms(blend.previous)]),
        ]

    def _scene_text_mean(self, scene_index: int, env: Mapping[str, float]) -> list[torch.Tensor] | None:
        """Per perceptor, the mean unit embedding of a scene's text prompts with positive weight (or None)."""
        texts = [r.text for r in self._scenes[scene_index]
                 if r.enabled and r.text is not None and _scalar(r.prompt.weight.evaluate(env)) > 0]
        if not texts:
            return None
        return [torch.stack([F.normalize(t[c], dim=-1) for t in texts]).mean(0) for c in range(len(self.perceptors))]

    def losses(
        self, image: torch.Tensor, scene_index: int, env: Mapping[str, float], generator: torch.Generator
    ) -> list[LossTerm]:
        """Loss terms for one freshly drawn micro-batch (the whole step when there is no accumulation)."""
        draws = self.micro_batches(generator, (image.shape[-2], image.shape[-1]))[0]
        return self.losses_for(image, draws, scene_index, env)

    def _term(
        self,
        ready: _Ready,
        embeddings: Sequence[torch.Tensor],
        draws: Sequence[PerceptorDraw],
        inputs: MaskInput,
        env: Mapping[str, float],
        blend: tuple[list[torch.Tensor] | None, float] | None = None,
    ) -> LossTerm:
        if not ready.enabled:
            device = embeddings[0].device
            return LossTerm(ready.prompt.label, torch.zeros((), device=device), torch.full((), math.nan, device=device))
        weight = _scalar(ready.prompt.weight.evaluate(env))
        if ready.text is not None:
            targets = list(ready.text)
            if blend is not None and blend[0] is not None:
                origin, tau = blend
                if weight > 0:
                    targets = [(1 - tau) * m + tau * F.normalize(t, dim=-1) for m, t in zip(origin, targets)]
                else:  # pushing away from the previous scene's look would fight the ramp: fade the push in
                    weight *= tau
            distance = torch.cat([spherical_distance(e, t.to(e.device)) for e, t in zip(embeddings, targets)])
            offset = 0.0
        else:
            distance, offset = image_prompt_distances(ready.image, embeddings, draws), IMAGE_PROMPT_OFFSET
        stops: torch.Tensor | float = -math.inf
        weights: torch.Tensor | float = 1.0
        if ready.mask is not None:
            cutoff_expr = ready.prompt.mask.cutoff if ready.prompt.mask is not None else None
            cutoff = None if cutoff_expr is None else _scalar(cutoff_expr.evaluate(env))
            stops, weights = ready.mask(inputs, cutoff)
        weighted, raw = prompt_loss(
            distance,
            weight=weight,
            stop=_scalar(ready.prompt.stop.evaluate(env)),
            mask_stops=stops,
            mask_weights=weights,
            offset=offset,
        )
        return LossTerm(label=ready.prompt.label, weighted=weighted, raw=raw)
