"""Settings → plan: compile every prompt and expression once, before any model is loaded.

A bad prompt, mask or expression therefore fails here, in milliseconds, with an error pointing at it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dreamloom.dsl.expressions import Expression, compile_expression
from dreamloom.dsl.grammar import parse_scenes
from dreamloom.dsl.loss_strings import parse_direct_image_prompts, parse_weight_setting
from dreamloom.dsl.tree import Prompt, Scene, WeightSpec
from dreamloom.plan.timeline import Timeline
from dreamloom.plan.variables import audio_variable_names
from dreamloom.errors import PromptError, SettingsError
from dreamloom.settings.choices import AnimationMode
from dreamloom.settings.schema import Settings

log = logging.getLogger(__name__)

MOTION_SETTINGS = ("translate_x", "translate_y", "translate_z_3d", "rotate_3d", "rotate_2d", "zoom_x_2d", "zoom_y_2d")
STABILIZATION_SETTINGS = (
    "direct_stabilization_weight",
    "semantic_stabilization_weight",
    "depth_stabilization_weight",
    "edge_stabilization_weight",
    "flow_stabilization_weight",
)
DEPTH_VARIABLES = ("r", "R", "mu")


@dataclass(frozen=True)
class Plan:
    """Everything a render needs from the settings, compiled and checked."""

    settings: Settings
    variables: frozenset[str]
    scenes: tuple[Scene, ...]
    direct_prompts: tuple[Prompt, ...]
    direct_init: WeightSpec | None
    semantic_init: WeightSpec | None
    smoothing: Expression
    motion: dict[str, Expression]
    stabilization: dict[str, WeightSpec | None]
    timeline: Timeline


def expression_variables(settings: Settings) -> frozenset[str]:
    """Names expressions may read: ``t``, every audio band with its ``_prev`` and ``_onset`` and ``beat``
    (when there are filters), and ``r R mu`` in 3D."""
    names = {"t", *audio_variable_names([band.variable_name for band in settings.input_audio_filters])}
    if settings.animation_mode is AnimationMode.THREE_D:
        names.update(DEPTH_VARIABLES)
    return frozenset(names)


def check_audio_filters(settings: Settings) -> None:
    """Filters need a sound to measure, and the variables they bring must not share a name."""
    if settings.input_audio_filters and not settings.input_audio:
        raise SettingsError(
            "input_audio_filters: the filters measure the bands of input_audio, which is empty; set input_audio "
            "to a sound file or remove input_audio_filters."
        )
    names = list(audio_variable_names([band.variable_name for band in settings.input_audio_filters]))
    taken = DEPTH_VARIABLES if settings.animation_mode is AnimationMode.THREE_D else ()
    clashes = sorted({name for name in names if names.count(name) > 1 or name in taken})
    if clashes:
        raise SettingsError(
            f"input_audio_filters: the variable name {', '.join(map(repr, clashes))} would mean two things (each "
            "filter brings NAME, NAME_prev and NAME_onset, the filters together bring beat, and 3D brings r, R and "
            "mu); give every filter its own variable_name."
        )


def build_plan(settings: Settings) -> Plan:
    """Compile the scenes and every expression setting; raises PromptError on the first bad one."""
    check_audio_filters(settings)
    variables = expression_variables(settings)
    scenes = parse_scenes(settings.scenes, prefix=settings.scene_prefix, suffix=settings.scene_suffix, variables=variables)
    if not scenes:
        raise PromptError("scenes: there is no scene to render. Write at least one prompt, e.g. scenes: 'a red apple'.")
    if any(scene.prompts for scene in scenes) and not settings.perceptor_names():
        raise SettingsError(
            "perceptors: the scenes have prompts, but no perceptor is selected to judge them; select at least "
            "one perceptor (e.g. ViTB32: true, or perceptors: [demo] for the bundled offline model)."
        )
    init_weights = {
        name: parse_weight_setting(getattr(settings, name), setting=name, variables=variables)
        for name in ("direct_init_weight", "semantic_init_weight")
    }
    for name, spec in init_weights.items():
        if spec is not None and not settings.init_image:
            log.warning("%s is set but init_image is empty, so it has no effect.", name)
    return Plan(
        settings=settings,
        variables=variables,
        scenes=scenes,
        direct_prompts=parse_direct_image_prompts(settings.direct_image_prompts, variables=variables),
        direct_init=init_weights["direct_init_weight"] if settings.init_image else None,
        semantic_init=init_weights["semantic_init_weight"] if settings.init_image else None,
        smoothing=compile_expression(settings.smoothing_weight, setting="smoothing_weight", variables=variables, scalar=True),
        motion={name: compile_expression(getattr(settings, name), setting=name, variables=variables) for name in MOTION_SETTINGS},
        stabilization={
            name: parse_weight_setting(getattr(settings, name), setting=name, variables=variables)
            for name in STABILIZATION_SETTINGS
        },
        timeline=Timeline(
            scene_count=len(scenes),
            steps_per_scene=settings.steps_per_scene,
            interpolation_steps=settings.interpolation_steps,
            pre_animation_steps=settings.pre_animation_steps,
            steps_per_frame=settings.steps_per_frame,
            frames_per_second=settings.frames_per_second,
        ),
    )
