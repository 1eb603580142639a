"""Which frame hooks a plan asks for: one place that maps animation settings to per-frame work.

A still image (``animation_mode: off``) gets only the audio variables, when it has filters: its weights
still follow ``t`` and the frame timeline as pytti's do; its init losses act for the whole run and its
video masks keep their first frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from dreamloom.engine.audio_variables import AudioVariablesHook, analyse_settings
from dreamloom.engine.camera3d import CameraTerm, build_camera_hook
from dreamloom.engine.frames import FrameHook
from dreamloom.engine.image_terms import PictureTerm
from dreamloom.engine.motion import Motion2DHook
from dreamloom.engine.semantic import ScenePrompts
from dreamloom.engine.stabilization import StabilizationHook
from dreamloom.engine.terms import ImageLossTerm, PromptLosses
from dreamloom.engine.video_masks import ShowsVideoFrame, VideoLossMask, VideoMasksHook
from dreamloom.engine.video_source import FlowTerm, build_video_source_hook
from dreamloom.images.base import ImageModel
from dreamloom.plan import Plan
from dreamloom.settings.choices import AnimationMode


def video_masks(prompts: ScenePrompts | None, terms: Sequence[ImageLossTerm]) -> list[ShowsVideoFrame]:
    """Every mask of the run that follows a video: prompt masks, then image-loss masks."""
    masks: list[ShowsVideoFrame] = [mask for _, mask in prompts.guide.video_masks] if prompts is not None else []
    masks += [term.mask for term in terms
              if isinstance(term, PictureTerm | CameraTerm | FlowTerm) and isinstance(term.mask, VideoLossMask)]
    return masks


def plan_hooks(
    plan: Plan, model: ImageModel, prompts: PromptLosses | None, terms: Sequence[ImageLossTerm]
) -> list[FrameHook]:
    """The frame hooks of ``plan``'s animation mode, acting on ``model``, the prompts and the image terms."""
    settings = plan.settings
    hooks: list[FrameHook] = []
    if settings.input_audio_filters:
        hooks.append(AudioVariablesHook(analyse_settings(settings)))
    if settings.animation_mode is AnimationMode.OFF:
        return hooks
    if settings.animation_mode is AnimationMode.TWO_D:
        hooks.append(Motion2DHook(model, plan.motion, settings.sampling_mode, settings.infill_mode))
    if settings.animation_mode is AnimationMode.THREE_D:
        hooks.append(build_camera_hook(plan, model, terms))
    aim_at = None
    if settings.animation_mode is AnimationMode.VIDEO_SOURCE:
        source = build_video_source_hook(plan, model, terms)
        hooks.append(source)
        aim_at = source.target_picture
    assert settings.seed is not None
    scene_prompts = prompts if isinstance(prompts, ScenePrompts) else None
    stabilization = StabilizationHook(model, terms, scene_prompts, settings.seed, aim_at=aim_at)
    if stabilization.active:
        hooks.append(stabilization)
    masks = video_masks(scene_prompts, terms)
    if masks:
        hooks.append(VideoMasksHook(masks, settings.frame_stride))
    return hooks
