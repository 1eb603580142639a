"""Image loss terms of a plan: direct init, direct image prompts, direct and edge stabilization, smoothing.

Targets and masks are read here, before the first step, so a missing file fails at once. The list of terms,
and so the loss log's columns, is fixed here; frame hooks later retarget, enable or disable terms
(:mod:`dreamloom.engine.stabilization`) and move their video masks (:mod:`dreamloom.engine.video_masks`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from PIL import Image

from dreamloom.dsl.fields import DEFAULT_STOP
from dreamloom.dsl.tree import Mask, MaskKind, WeightSpec, display_label
from dreamloom.engine.terms import ImageLossTerm
from dreamloom.engine.video_masks import VideoLossMask
from dreamloom.images.base import ImageModel
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.edge import edge_loss, edge_maps
from dreamloom.losses.smoothing import tv_loss
from dreamloom.plan import Plan
from dreamloom.settings.choices import AnimationMode
from dreamloom.settings.schema import Settings
from dreamloom.sources import load_image
from dreamloom.video_frames import VideoFrames

log = logging.getLogger(__name__)

LossFunction = Callable[[torch.Tensor], torch.Tensor]
"""Maps the training picture [1, 3, H, W] to a scalar loss."""
LossToward = Callable[[Image.Image, torch.Tensor | None], LossFunction]
"""Builds a loss toward a target picture through a mask [1, 1, h, w] (or None)."""
LossMask = torch.Tensor | VideoLossMask
"""A still mask [1, 1, h, w] in [0, 1], or one that follows a video."""

#: Stabilization settings that act only in the modes that make depth maps or optical flow.
NOT_IN_2D = {"depth_stabilization_weight": "3D", "flow_stabilization_weight": "3D and Video Source"}


class TermRole(enum.Enum):
    """What a picture term is for: frame hooks switch init terms off and retarget stabilization terms."""

    INIT = "init"
    PROMPT = "prompt"
    STABILIZATION = "stabilization"


@dataclass
class PictureTerm(ImageLossTerm):
    """An image term toward a target picture through an optional mask (direct or edge loss).

    ``loss_toward`` builds the loss for a target; :meth:`retarget` uses it to aim the term at a new picture
    with the same mask. A term made without a target is disabled until it is retargeted.
    """

    role: TermRole = field(kw_only=True)
    loss_toward: LossToward = field(kw_only=True)
    mask: LossMask | None = field(default=None, kw_only=True)

    def retarget(self, picture: Image.Image) -> None:
        """Aim the term at ``picture`` (the output size; other sizes are resized as init images are)."""
        self.raw = self.loss_toward(picture, self.mask.tensor if isinstance(self.mask, VideoLossMask) else self.mask)


def resolve_size(settings: Settings, init_picture: Image.Image | None) -> tuple[int, int]:
    """(width, height) in parameter pixels; a -1 side follows the init image's aspect ratio (pytti truncates)."""
    width, height = settings.width, settings.height
    if init_picture is not None and width == -1:
        width = max(1, int(height * init_picture.width / init_picture.height))
    if init_picture is not None and height == -1:
        height = max(1, int(width * init_picture.height / init_picture.width))
    return width, height


def _no_target(picture: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("an image loss term without a target picture was enabled; retarget it first")


class _TermMaker:
    """Builds the picture terms of one model: their masks (mask videos read once per file) and losses."""

    def __init__(self, model: ImageModel, fps: float) -> None:
        self.model = model
        self.fps = fps  # mask videos are resampled to the animation's frame rate
        self.device = next(model.parameters()).device
        self.videos: dict[str, VideoFrames] = {}

    def mask(self, mask: Mask | None, setting: str) -> LossMask | None:
        """An image loss's mask (inverted if asked); None for the whole picture. Loss settings take file masks
        only (the grammar reads their mask as a path), so a mask here is a still image or a video."""
        if mask is None:
            return None
        path = str(mask.path)
        if mask.kind is MaskKind.VIDEO:
            if path not in self.videos:
                self.videos[path] = VideoFrames(path, setting, fps=self.fps)
            frames = self.videos[path]
            return VideoLossMask(frames, inverted=mask.inverted, size=self.model.output_size, device=self.device)
        picture = load_image(path, setting, mode="L")
        tensor = picture_to_tensor(picture, picture.size, device=self.device, dtype=torch.float32)[:, :1]
        return 1 - tensor if mask.inverted else tensor

    def edge_toward(self, picture: Image.Image, mask: torch.Tensor | None) -> LossFunction:
        """pytti's EdgeLoss toward ``picture`` resized (LANCZOS) to the output size."""
        height, width = self.model.output_size
        target = edge_maps(picture_to_tensor(picture, (width, height), device=self.device, dtype=torch.float32))
        return lambda decoded: edge_loss(decoded, target, mask)

    def term(
        self,
        label: str,
        spec: WeightSpec,
        setting: str,
        role: TermRole,
        toward: LossToward,
        picture: Image.Image | None,
    ) -> PictureTerm:
        """A picture term aimed at ``picture``; without one, disabled until retargeted."""
        term = PictureTerm(label, spec.weight, spec.stop, _no_target, enabled=picture is not None, role=role,
                           loss_toward=toward, mask=self.mask(spec.mask, setting))
        if picture is not None:
            term.retarget(picture)
        return term


def loss_mask(model: ImageModel, mask: Mask | None, setting: str, fps: float) -> LossMask | None:
    """The mask of an image loss built outside this module (3D's depth and flow terms), as picture terms
    read theirs (``fps``: the animation's frame rate, which mask videos are resampled to)."""
    return _TermMaker(model, fps).mask(mask, setting)


def _warn_unused_stabilization(plan: Plan) -> None:
    mode = plan.settings.animation_mode
    if mode not in (AnimationMode.OFF, AnimationMode.TWO_D):
        return
    for setting, modes in NOT_IN_2D.items():
        if plan.stabilization.get(setting) is not None:
            log.warning("%s is set but has no effect with animation_mode: %s; it acts only in %s.",
                        setting, mode.value, modes)


def build_image_terms(plan: Plan, model: ImageModel, init_picture: Image.Image | None) -> list[ImageLossTerm]:
    """Loss terms on the decoded picture, in pytti's logging order: init, direct prompts, stabilization
    (direct, edge), smoothing.

    Init terms aim at the init image. Stabilization terms aim at the init image when there is one (pytti:
    with ``animation_mode: off`` they then act as extra init losses for the whole run) and start disabled
    otherwise; in an animation the stabilization hook aims them at each new frame.
    """
    _warn_unused_stabilization(plan)
    maker = _TermMaker(model, plan.settings.frames_per_second)
    terms: list[ImageLossTerm] = []
    if plan.direct_init is not None and init_picture is not None:
        terms.append(maker.term("init image (direct)", plan.direct_init, "direct_init_weight", TermRole.INIT,
                                model.direct_loss, init_picture))
    for prompt in plan.direct_prompts:
        spec = WeightSpec(prompt.weight, prompt.stop, prompt.mask)
        picture = load_image(prompt.source, "direct_image_prompts")
        label = display_label(f"{prompt.source} (direct)")
        terms.append(maker.term(label, spec, "direct_image_prompts", TermRole.PROMPT, model.direct_loss, picture))
    stabilization = {"direct_stabilization_weight": ("stabilization (direct)", model.direct_loss),
                     "edge_stabilization_weight": ("stabilization (edge)", maker.edge_toward)}
    for setting, (label, toward) in stabilization.items():
        spec = plan.stabilization.get(setting)
        if spec is not None:
            terms.append(maker.term(label, spec, setting, TermRole.STABILIZATION, toward, init_picture))
    if plan.smoothing.constant != 0:
        terms.append(ImageLossTerm("smoothing loss (TV)", plan.smoothing, DEFAULT_STOP, lambda picture: tv_loss(picture)[0]))
    return terms
