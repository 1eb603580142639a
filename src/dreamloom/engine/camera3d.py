"""3D mode: at each frame boundary, the picture's depth, the camera's motion, the reprojection, and the depth
and flow stabilization targets it predicts (animation-losses-outputs.md §3, §6.5, §6.8).

Per frame, in this order: the shown (pre-warp) picture is decoded; its depth is computed once, in inference
mode; ``r``, ``R`` and ``mu`` are set for expressions; the motion settings are evaluated; the image state is
warped by the camera (:class:`~dreamloom.animation.camera.Warp3D`); the depth term aims at the previous depth
moved by the camera, the flow term at the camera's flow from the pre-warp picture. The direct, edge and
semantic stabilization losses then aim at the moved picture in the stabilization hook, as in 2D.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from dreamloom.animation.camera import CameraMotion, Warp3D
from dreamloom.animation.depth import DepthEstimator, depth_in_pixels, depth_statistics
from dreamloom.animation.depth_loading import load_depth_model
from dreamloom.animation.optical_flow import FlowModel, load_flow_model
from dreamloom.dsl.expressions import Expression
from dreamloom.dsl.loss_strings import parse_weight_setting
from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.engine.image_terms import LossFunction, LossMask, loss_mask
from dreamloom.engine.terms import ImageLossTerm
from dreamloom.engine.video_masks import VideoLossMask
from dreamloom.errors import PromptError, SettingsError
from dreamloom.images.base import ImageModel
from dreamloom.losses.depth import depth_loss
from dreamloom.losses.target_flow import target_flow_loss
from dreamloom.plan import Plan, StepVariables, expression_variables
from dreamloom.settings.choices import (
    AnimationMode,
    DepthModel,
    InfillMode,
    OpticalFlowModel,
    SamplingMode,
)
from dreamloom.settings.schema import Settings

DEPTH_TERM = "stabilization (depth)"
FLOW_TERM = "optical flow stabilization (direct)"
_TERMS = {"depth_stabilization_weight": DEPTH_TERM, "flow_stabilization_weight": FLOW_TERM}
#: RAFT's flow updates in the 3D flow loss (pytti ran GMA with 3 there, §6.8): the loss backpropagates
#: through every update, every step.
FLOW_ITERATIONS = 3
_TRANSLATIONS = ("translate_x", "translate_y", "translate_z_3d")


def _weighted(settings: Settings, setting: str) -> bool:
    """Whether a weight setting switches its loss on (not empty, not the constant 0)."""
    variables = expression_variables(settings)
    return parse_weight_setting(getattr(settings, setting), setting=setting, variables=variables) is not None


def check_camera(settings: Settings) -> None:
    """Refuse 3D stabilization the chosen models cannot do, before any model is loaded."""
    if settings.animation_mode is not AnimationMode.THREE_D:
        return
    if _weighted(settings, "depth_stabilization_weight"):
        check_depth_model_sees_depth(settings)
    if _weighted(settings, "flow_stabilization_weight") and settings.optical_flow_model is OpticalFlowModel.DIS:
        raise SettingsError(
            "flow_stabilization_weight: in 3D the flow loss differentiates through the optical flow, and "
            "optical_flow_model: dis is not differentiable; choose optical_flow_model: raft-small or raft-large, "
            "or remove flow_stabilization_weight."
        )


def check_depth_model_sees_depth(settings: Settings) -> None:
    """A depth stabilization (3D or Video Source) needs a depth model that sees depth: refuse ``flat``."""
    if settings.depth_model is DepthModel.FLAT:
        raise SettingsError(
            "depth_stabilization_weight: depth_model: flat sees no depth, so there is nothing to stabilize; "
            "choose depth_model: depth-anything-v2-small or remove depth_stabilization_weight."
        )


def _no_target(picture: torch.Tensor) -> torch.Tensor:
    raise RuntimeError("a 3D stabilization term was enabled before a frame gave it a target")


@dataclass
class CameraTerm(ImageLossTerm):
    """Depth or flow stabilization in 3D: disabled until the first frame boundary gives it a target."""

    mask: LossMask | None = field(default=None, kw_only=True)

    @property
    def mask_tensor(self) -> torch.Tensor | None:
        """The mask now ([1, 1, h, w]; a video mask's current frame), or None."""
        return self.mask.tensor if isinstance(self.mask, VideoLossMask) else self.mask


def build_camera_terms(plan: Plan, model: ImageModel) -> list[CameraTerm]:
    """The depth and flow stabilization terms of a 3D run (none in other modes), in pytti's order."""
    if plan.settings.animation_mode is not AnimationMode.THREE_D:
        return []
    terms = []
    for setting, label in _TERMS.items():
        spec = plan.stabilization.get(setting)
        if spec is not None:
            mask = loss_mask(model, spec.mask, setting, plan.settings.frames_per_second)
            terms.append(CameraTerm(label, spec.weight, spec.stop, _no_target, enabled=False, mask=mask))
    return terms


@dataclass(frozen=True)
class Lens:
    """The camera settings that do not change during a run."""

    field_of_view: float
    near_plane: float
    far_plane: float
    lock_camera: bool
    sampling: SamplingMode
    infill: InfillMode


class Camera3DHook(FrameHook):
    """Moves ``model`` by the frame's 3D camera motion and aims the depth and flow terms (``animation_mode: 3D``).

    ``depth_model`` runs once per frame on the pre-warp picture (and once on the starting picture, so that
    ``r``, ``R`` and ``mu`` have values from step 0). ``flow_model`` is needed only with a flow term.
    """

    name = "camera_3d"
    stage = HookStage.MOTION

    def __init__(
        self,
        model: ImageModel,
        motion: Mapping[str, Expression],
        lens: Lens,
        depth_model: DepthEstimator,
        terms: Sequence[CameraTerm] = (),
        flow_model: FlowModel | None = None,
    ) -> None:
        self.model = model
        self.motion = motion
        self.lens = lens
        self.depth_model = depth_model
        self.depth_term = next((term for term in terms if term.label == DEPTH_TERM), None)
        self.flow_term = next((term for term in terms if term.label == FLOW_TERM), None)
        if self.flow_term is not None and (flow_model is None or not flow_model.differentiable):
            raise ValueError("a 3D flow term needs a differentiable flow model")
        self.flow_model = flow_model
        self.targets: dict[str, torch.Tensor] = {}

    def depth_of(self, picture: torch.Tensor) -> torch.Tensor:
        """Distances in output pixels of the shown picture. Shape: [1, 3, H, W] -> [1, 1, H, W]"""
        with torch.inference_mode():
            nearness = self.depth_model(picture)
            depth = depth_in_pixels(nearness, self.lens.near_plane, self.lens.far_plane)
        return depth.clone()

    def start_values(self) -> dict[str, float]:
        with torch.no_grad():
            return depth_statistics(self.depth_of(self.model.decode()))

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        with torch.no_grad():
            picture = self.model.decode().detach().clone()
        depth = self.depth_of(picture)
        variables.update_frame_values(depth_statistics(depth))
        env = variables.at(start.step)
        height = picture.shape[-2]
        warp = Warp3D(
            depth * (2 / height),
            self.camera_motion(env, height, picture),
            self.lens.lock_camera,
            self.lens.sampling,
            self.lens.infill,
        )
        with torch.no_grad():
            self.model.warp_state(warp)
        if self.depth_term is None and self.flow_term is None:
            return
        reprojection = warp.reprojection(*picture.shape[-2:])
        targets = {"depth": 1 / reprojection.distance}
        if self.flow_term is not None:
            targets["flow"] = reprojection.flow.permute(0, 3, 1, 2) * (height / 2)
            targets["picture"] = picture
        self.aim(targets)

    def camera_motion(self, env: Mapping[str, float], height: int, like: torch.Tensor) -> CameraMotion:
        """The frame's camera motion from the motion settings evaluated with ``env``."""
        translate = []
        for name in _TRANSLATIONS:
            value = self.motion[name].evaluate(env)
            if isinstance(value, tuple):
                raise PromptError(f"{name}: `{self.motion[name].source}` gives a list; it must be one number (pixels per frame).")
            translate.append(float(value))
        quaternion = self.motion["rotate_3d"].evaluate(env)
        if not isinstance(quaternion, tuple) or len(quaternion) != 4 or not any(quaternion):
            raise PromptError(
                f"rotate_3d: `{self.motion['rotate_3d'].source}` gives {quaternion!r}; it must be a quaternion of "
                "four numbers [r, x, y, z], not all zero ([1, 0, 0, 0] is no rotation)."
            )
        return CameraMotion.from_settings(
            (translate[0], translate[1], translate[2]),
            quaternion,
            field_of_view=self.lens.field_of_view,
            output_height=height,
            dtype=like.dtype,
            device=like.device,
        )

    def aim(self, targets: Mapping[str, torch.Tensor]) -> None:
        """Aim the depth term at ``targets["depth"]`` (nearness) and the flow term at ``targets["flow"]`` (pixels)
        from ``targets["picture"]``; both terms are enabled."""
        self.targets = dict(targets)
        if self.depth_term is not None:
            self.depth_term.raw = self._depth_loss(targets["depth"], self.depth_term)
            self.depth_term.enabled = True
        if self.flow_term is not None:
            self.flow_term.raw = self._flow_loss(targets["picture"], targets["flow"], self.flow_term)
            self.flow_term.enabled = True

    def _depth_loss(self, target: torch.Tensor, term: CameraTerm) -> LossFunction:
        model = self.depth_model
        return lambda picture: depth_loss(model(picture), target, term.mask_tensor)

    def _flow_loss(self, before: torch.Tensor, target: torch.Tensor, term: CameraTerm) -> LossFunction:
        flow_model = self.flow_model
        assert flow_model is not None
        return lambda picture: target_flow_loss(flow_model(before, picture), target, term.mask_tensor)

    def state(self) -> dict[str, Any]:
        """The targets of the depth and flow terms (empty before the first frame or without those terms)."""
        return dict(self.targets)

    def load_state(self, state: Mapping[str, Any]) -> None:
        if "depth" in state:
            device = next(self.model.parameters()).device
            self.aim({name: value.to(device) for name, value in state.items()})


def build_camera_hook(plan: Plan, model: ImageModel, terms: Sequence[ImageLossTerm]) -> Camera3DHook:
    """The 3D hook of ``plan``: its depth model (and flow model, with a flow term) loaded from the registry."""
    settings = plan.settings
    check_camera(settings)
    device = next(model.parameters()).device
    camera_terms = [term for term in terms if isinstance(term, CameraTerm)]
    depth_model = load_depth_model(settings.depth_model.value, settings.models_parent_dir, device=device)
    flow_model = None
    if any(term.label == FLOW_TERM for term in camera_terms):
        flow_model = load_flow_model(settings.optical_flow_model, settings.models_parent_dir, device=device,
                                     iterations=FLOW_ITERATIONS)
    lens = Lens(settings.field_of_view, settings.near_plane, settings.far_plane, settings.lock_camera,
                settings.sampling_mode, settings.infill_mode)
    return Camera3DHook(model, plan.motion, lens, depth_model, camera_terms, flow_model)
