"""Video Source mode: restyle a video frame by frame, each frame starting from the previous output moved
along the optical flow between the source frames (animation-losses-outputs.md §4, §6.9).

At the boundary of output frame ``k`` (video frame ``k·s`` is shown, ``s`` = ``frame_stride``; the target
is video frame ``(k+1)·s``), in this order:

1. the shown picture is remembered (it depicts video frame ``k·s``);
2. the flow from the target frame back to frame ``k·s`` and its consistency mask are computed; fewer than
   3 % consistent pixels is a cut;
3. with ``reencode_each_frame`` or on a cut the picture is re-encoded from the target frame, otherwise it is
   warped along the flow;
4. flow stabilization sample ``j`` (``j = 0 … flow_long_term_samples``) aims at the output made ``2^j``
   frames before the target, warped along the flow from the target frame to its source frame, through its
   consistency mask less what shorter samples already cover (so it acts where they are occluded);
5. (stabilization hook) direct, edge, depth and semantic stabilization aim at the target frame.

Differences from pytti: earlier outputs are kept by this hook (in memory and in its backup state), not
read from backup files, so any ``save_every`` and ``backups`` work; flows are computed only when something
uses them; the long-term masks are the loss masks, as documented, not pytti's background-noise masks; a
``flow_stabilization_weight`` mask multiplies the loss mask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from dreamloom.animation.depth import DepthEstimator
from dreamloom.animation.depth_loading import load_depth_model
from dreamloom.animation.optical_flow import (
    FlowModel,
    FlowWarp,
    consistency_mask,
    flow_warp,
    is_cut,
    load_flow_model,
)
from dreamloom.engine.camera3d import check_depth_model_sees_depth
from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.engine.image_terms import (
    LossFunction,
    LossMask,
    PictureTerm,
    TermRole,
    loss_mask,
)
from dreamloom.engine.terms import ImageLossTerm
from dreamloom.engine.video_masks import VideoLossMask
from dreamloom.errors import SettingsError
from dreamloom.images.base import ImageModel
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.depth import depth_loss
from dreamloom.losses.direct import masked_mse
from dreamloom.plan import Plan, StepVariables
from dreamloom.settings.choices import (
    AnimationMode,
    InfillMode,
    SamplingMode,
)
from dreamloom.settings.schema import Settings
from dreamloom.video_frames import VideoFrames

log = logging.getLogger(__name__)

DEPTH_TERM = "stabilization (depth)"


def _no_target(picture: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("a Video Source stabilization term was enabled before a frame gave it a target")


@dataclass
class FlowTerm(ImageLossTerm):
    """One flow stabilization sample: the picture against an earlier output moved along the flow.

    ``back`` is how many output frames before the target that output was made (1, 2, 4, …); ``mask`` is
    the setting's own mask, multiplied into the consistency mask.
    """

    back: int = field(kw_only=True)
    mask: LossMask | None = field(default=None, kw_only=True)

    def aim(self, target: torch.Tensor, consistency: torch.Tensor) -> None:
        """Compare with ``target`` [1, 3, H, W] where ``consistency`` [1, 1, H, W] says, and enable."""
        user = self.mask.tensor if isinstance(self.mask, VideoLossMask) else self.mask
        self.raw = _flow_loss(target, consistency, user)
        self.enabled = True


def _flow_loss(target: torch.Tensor, consistency: torch.Tensor, user: torch.Tensor | None) -> LossFunction:
    def loss(picture: torch.Tensor) -> torch.Tensor:
        weights = consistency
        if user is not None:
            weights = consistency * F.interpolate(user, size=consistency.shape[-2:], mode="bilinear", align_corners=False)
        return masked_mse(picture, target, weights)

    return loss


def open_video(settings: Settings) -> VideoFrames:
    """The source video, resampled to ``frames_per_second``; a missing setting or bad file is one error."""
    if not settings.video_path:
        raise SettingsError("video_path: animation_mode: Video Source needs a video; set video_path to a video file (e.g. an mp4).")
    return VideoFrames(settings.video_path, "video_path", fps=settings.frames_per_second)


def _depth_toward(depth: DepthEstimator, device: torch.device, size: tuple[int, int]) -> Callable[[Image.Image, torch.Tensor | None], LossFunction]:
    """pytti's depth stabilization: the depth of the picture against the depth of the target picture."""
    height, width = size

    def toward(picture: Image.Image, mask: torch.Tensor | None) -> LossFunction:
        with torch.inference_mode():
            target = depth(picture_to_tensor(picture, (width, height), device=device, dtype=torch.float32))
        target = target.clone()
        return lambda decoded: depth_loss(depth(decoded), target, mask)

    return toward


def build_video_source_terms(plan: Plan, model: ImageModel, init_picture: Image.Image | None) -> list[ImageLossTerm]:
    """Video Source's depth stabilization and flow stabilization samples (none in other modes)."""
    settings = plan.settings
    if settings.animation_mode is not AnimationMode.VIDEO_SOURCE:
        return []
    fps = settings.frames_per_second
    terms: list[ImageLossTerm] = []
    depth = plan.stabilization.get("depth_stabilization_weight")
    if depth is not None:
        check_depth_model_sees_depth(settings)
        device = next(model.parameters()).device
        estimator = load_depth_model(settings.depth_model.value, settings.models_parent_dir, device=device)
        term = PictureTerm(DEPTH_TERM, depth.weight, depth.stop, _no_target, enabled=False, role=TermRole.STABILIZATION,
                           loss_toward=_depth_toward(estimator, device, model.output_size),
                           mask=loss_mask(model, depth.mask, "depth_stabilization_weight", fps))
        if init_picture is not None:
            term.retarget(init_picture)
            term.enabled = True
        terms.append(term)
    flow = plan.stabilization.get("flow_stabilization_weight")
    if flow is not None:
        mask = loss_mask(model, flow.mask, "flow_stabilization_weight", fps)
        for sample in range(settings.flow_long_term_samples + 1):
            terms.append(FlowTerm(f"optical flow stabilization (frame -{2**sample})", flow.weight, flow.stop,
                                  _no_target, enabled=False, back=2**sample, mask=mask))
    return terms


class VideoSourceHook(FrameHook):
    """Moves the picture along the source video (module docstring) and aims the flow terms.

    ``flow`` may be None only when nothing needs a flow (re-encoding every frame, no flow terms).
    """

    name = "video_source"
    stage = HookStage.MOTION

    def __init__(
        self,
        model: ImageModel,
        frames: VideoFrames,
        flow: FlowModel | None,
        terms: Sequence[FlowTerm],
        *,
        stride: int,
        reencode: bool,
        sampling: SamplingMode,
        infill: InfillMode,
    ) -> None:
        if flow is None and (terms or not reencode):
            raise ValueError("a Video Source run that warps or has flow terms needs a flow model")
        self.model = model
        self.frames = frames
        self.flow = flow
        self.terms = sorted(terms, key=lambda term: term.back)
        self.stride = stride
        self.reencode = reencode
        self.sampling = sampling
        self.infill = infill
        self.keep = max((term.back for term in self.terms), default=0)
        self.outputs: dict[int, torch.Tensor] = {}
        self.frame: int | None = None
        self.target: Image.Image | None = None
        self.sources: dict[int, Image.Image] = {}
        self.cuts: list[int] = []  # output frames that began at a cut (for the log and the tests)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def source(self, frame: int) -> torch.Tensor:
        """Output frame ``frame``'s source picture (video frame ``frame·s``) at the picture's size.

        Shape: -> [1, 3, H, W] in [0, 1]
        """
        return picture_to_tensor(self._picture(frame), device=self.device, dtype=torch.float32)

    def _picture(self, frame: int) -> Image.Image:
        """The source picture of output frame ``frame``, resized (LANCZOS); the ones the flows still need are
        kept, so the video is only ever decoded forward."""
        if frame not in self.sources:
            height, width = self.model.output_size
            picture = self.frames.picture(frame * self.stride)
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.LANCZOS)
            self.sources[frame] = picture
        return self.sources[frame]

    def target_picture(self) -> Image.Image:
        """The video frame the current output frame aims at (stabilization targets)."""
        if self.target is None:
            raise RuntimeError("the Video Source hook has not started a frame yet")
        return self.target

    @torch.no_grad()
    def flows(self, frame: int, back: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(flow from output frame ``frame + 1``'s source to output frame ``frame + 1 − back``'s, its
        consistency mask). Shape: -> [1, 2, H, W], [1, 1, H, W]"""
        assert self.flow is not None
        target, earlier = self.source(frame + 1), self.source(frame + 1 - back)
        to_earlier, to_target = self.flow(target, earlier), self.flow(earlier, target)
        return to_earlier, consistency_mask(to_earlier, to_target)

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        frame = start.frame
        self.frame = frame
        if self.keep:
            self.outputs[frame] = torch.from_numpy(np.asarray(self.model.to_pil(), dtype=np.uint8).copy())
            self.outputs = {index: picture for index, picture in self.outputs.items() if index > frame - self.keep}
        self.sources = {index: picture for index, picture in self.sources.items() if index > frame - max(self.keep, 1)}
        if self.flow is not None:
            self._picture(frame)  # before the target: the video is read forward
        self.target = self._picture(frame + 1)
        nearest = self.flows(frame, 1) if self.flow is not None and (self.terms or not self.reencode) else None
        cut = nearest is not None and is_cut(nearest[1])
        if cut:
            self.cuts.append(frame)
            log.info("Video Source: a cut before video frame %d; frame %d starts afresh from it.", (frame + 1) * self.stride, frame)
        if self.reencode or cut or nearest is None:
            self.model.encode_image(self.target)
        else:
            self.model.warp_state(FlowWarp(nearest[0], self.sampling, self.infill))
        self.aim(frame, nearest)

    @torch.no_grad()
    def aim(self, frame: int, nearest: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        """Aim each flow term at its earlier output moved to the target frame; terms reaching before the
        first output are off."""
        covered: torch.Tensor | None = None
        for term in self.terms:
            shown = frame + 1 - term.back
            if shown < 0:
                term.enabled = False
                continue
            flow, mask = nearest if term.back == 1 and nearest is not None else self.flows(frame, term.back)
            earlier = self.outputs[shown].to(self.device).permute(2, 0, 1)[None].float() / 255
            moved = flow_warp(earlier, flow, self.sampling, self.infill)
            where = mask if covered is None else (mask - covered).clamp(0, 1)
            covered = mask if covered is None else covered + mask
            term.aim(moved, where)

    def state(self) -> dict[str, Any]:
        """The frame last started and the outputs the flow terms still need (8-bit RGB, [H, W, 3])."""
        if self.frame is None:
            return {}
        indices = sorted(self.outputs)
        state: dict[str, Any] = {"frame": torch.tensor(self.frame), "indices": torch.tensor(indices, dtype=torch.long)}
        if indices:
            state["outputs"] = torch.stack([self.outputs[index] for index in indices])
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Take the frame back up: the same target and flow targets, the picture left as the backup has it."""
        if "frame" not in state:
            return
        self.frame = int(state["frame"])
        indices = state["indices"].tolist()
        self.outputs = dict(zip(indices, state["outputs"], strict=True)) if indices else {}
        self.target = self._picture(self.frame + 1)
        self.aim(self.frame)


def build_video_source_hook(plan: Plan, model: ImageModel, terms: Sequence[ImageLossTerm]) -> VideoSourceHook:
    """The Video Source hook of ``plan``: its video, and a flow model when anything uses flows."""
    settings = plan.settings
    flow_terms = [term for term in terms if isinstance(term, FlowTerm)]
    flow = None
    if flow_terms or not settings.reencode_each_frame:
        device = next(model.parameters()).device
        flow = load_flow_model(settings.optical_flow_model, settings.models_parent_dir, device=device)
    return VideoSourceHook(model, open_video(settings), flow, flow_terms, stride=settings.frame_stride,
                           reencode=settings.reencode_each_frame, sampling=settings.sampling_mode,
                           infill=settings.infill_mode)
