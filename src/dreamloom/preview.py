"""``preview(settings)``: the camera motion of a 2D animation alone, as a short video, in seconds.

No perceptor is loaded and nothing is optimised. The render's own motion hook
(:class:`~dreamloom.engine.motion.Motion2DHook`) moves the init image, or a test pattern, once per frame at
the ``t`` of the render's frame, so the preview moves exactly as the render will. The state it moves is an
RGB grid in the render's motion units: the parameter grid (``width`` × ``height``, shown at ``pixel_size``)
for Unlimited and Limited Palette, the output picture for VQGAN (whose weights are never needed).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw

from dreamloom.audio.decoding import check_audio
from dreamloom.engine.audio_variables import AudioVariablesHook, analyse_settings
from dreamloom.engine.frames import FrameHook, FrameStart
from dreamloom.engine.image_terms import resolve_size
from dreamloom.engine.motion import Motion2DHook
from dreamloom.errors import SettingsError
from dreamloom.images.rgb import RGBImage
from dreamloom.images.vqgan.registry import get_spec
from dreamloom.output.video import export_video
from dreamloom.plan import Plan, StepVariables, Timeline, build_plan
from dreamloom.settings.choices import AnimationMode, ImageModelChoice, VideoFormat
from dreamloom.settings.schema import Settings
from dreamloom.sources import load_image

log = logging.getLogger("dreamloom")

PREVIEW_SECONDS = 10.0
"""Without ``frames``, a preview stops after this much video, so a long render still previews in seconds."""


def preview(
    settings: Settings, *, frames: int | None = None, output: Path | None = None, fmt: VideoFormat = VideoFormat.MP4
) -> Path:
    """Write the motion of ``settings`` as a video and return its path.

    Frame 0 is the starting picture; frame k is that picture after the motion of the render's frames
    0 … k−1, each evaluated at the step where that frame begins. ``frames`` defaults to the render's frame
    count plus the start, at most :data:`PREVIEW_SECONDS` of video; ``output`` to :func:`preview_path`.
    """
    plan = build_plan(settings)
    _check_previewable(plan)
    count = _frame_count(plan.timeline, frames)
    audio = _soundtrack(settings)
    destination = output or preview_path(settings, fmt)
    with tempfile.TemporaryDirectory(prefix="dreamloom-preview-") as folder:
        paths = []
        for index, picture in enumerate(motion_frames(plan, count)):
            paths.append(Path(folder) / f"frame_{index}.png")
            picture.save(paths[-1], compress_level=1)
        export_video(paths, destination, fps=settings.frames_per_second, crf=settings.video_crf, fmt=fmt,
                     audio=audio, audio_offset=settings.input_audio_offset)
    log.info("Wrote the motion preview %s: %d frames (%.1f s) moving %s.", destination, count,
             count / settings.frames_per_second, settings.init_image or "a test pattern")
    return destination


def preview_path(settings: Settings, fmt: VideoFormat = VideoFormat.MP4) -> Path:
    """``<output_dir>/<file_namespace>/<file_namespace>.preview.<fmt>``: beside the render's files, but with
    a dot, not ``_``, after the namespace, so run numbering does not take it for an earlier run's file."""
    namespace = settings.file_namespace
    return Path(settings.output_dir) / namespace / f"{namespace}.preview.{fmt.value}"


def _check_previewable(plan: Plan) -> None:
    """Only 2D motion can be previewed."""
    mode = plan.settings.animation_mode
    if mode is AnimationMode.OFF:
        raise SettingsError("animation_mode: off renders a still image, so there is no motion to preview; "
                            "set animation_mode: 2D (and translate_x, rotate_2d, ...) to animate.")
    if mode is not AnimationMode.TWO_D:
        raise SettingsError(f"animation_mode: {mode.value!r} cannot be previewed yet; the preview shows 2D motion "
                            "only (animation_mode: 2D).")


def _frame_count(timeline: Timeline, frames: int | None) -> int:
    """``frames`` if given, else the start plus every frame of the render, capped at PREVIEW_SECONDS."""
    if frames is not None:
        if frames < 1:
            raise SettingsError(f"--frames must be 1 or more, got {frames}.")
        return frames
    if timeline.frame_count == 0:
        raise SettingsError(
            f"pre_animation_steps: {timeline.pre_animation_steps} is not less than the render's "
            f"{timeline.total_steps} steps, so no animation frame begins and nothing moves; lower "
            "pre_animation_steps or add steps (steps_per_scene)."
        )
    cap = max(1, round(PREVIEW_SECONDS * timeline.frames_per_second))
    if timeline.frame_count + 1 > cap:
        log.info("The render has %d frames; previewing the first %d (%g s). Use --frames N for more.",
                 timeline.frame_count, cap, PREVIEW_SECONDS)
    return min(timeline.frame_count + 1, cap)


def _soundtrack(settings: Settings) -> Path | None:
    """``input_audio`` as the preview's sound, checked before any frame is made."""
    if not settings.input_audio:
        return None
    path = Path(settings.input_audio)
    check_audio(path, "input_audio")
    return path


def _start_model(settings: Settings) -> RGBImage:
    """An RGB grid in the render's motion units, holding the init image (resized as the render resizes it)
    or the test pattern."""
    init_picture = load_image(settings.init_image, "init_image") if settings.init_image else None
    width, height = resolve_size(settings, init_picture)
    model = _motion_grid(settings, width, height)
    model.encode_image(init_picture if init_picture is not None else motion_pattern(model.width, model.height))
    return model


def _motion_grid(settings: Settings, width: int, height: int) -> RGBImage:
    """The grid the render's motion moves: the parameter grid, or for VQGAN its output picture (whole latent
    tokens of ``downsample_factor`` pixels, as :class:`~dreamloom.images.vqgan.VQGANImage` sizes it)."""
    if settings.image_model is not ImageModelChoice.VQGAN:
        return RGBImage(width, height, settings.pixel_size)
    factor = get_spec(settings.vqgan_model.value).downsample_factor
    tokens_x, tokens_y = width * settings.pixel_size // factor, height * settings.pixel_size // factor
    if tokens_x < 1 or tokens_y < 1:
        raise SettingsError(f"width/height: {width}×{height} at pixel_size {settings.pixel_size} is smaller than "
                            f"one VQGAN token ({factor}×{factor} pixels); make the image at least {factor} pixels "
                            "on each side")
    return RGBImage(tokens_x * factor, tokens_y * factor)


def motion_frames(plan: Plan, count: int) -> Iterator[Image.Image]:
    """``count`` pictures: the start picture, then that picture after the motion of each render frame in
    turn, evaluated by the render's hook at the step where the frame begins (with the audio variables of
    that frame when there are filters)."""
    settings, timeline = plan.settings, plan.timeline
    model = _start_model(settings)
    hooks: list[FrameHook] = [AudioVariablesHook(analyse_settings(settings))] if settings.input_audio_filters else []
    hooks.append(Motion2DHook(model, plan.motion, settings.sampling_mode, settings.infill_mode))
    variables = StepVariables(timeline)
    for index in range(count):
        if index > 0:
            step = timeline.pre_animation_steps + (index - 1) * timeline.steps_per_frame
            for hook in hooks:
                hook.on_frame(FrameStart(index - 1, step, timeline.time_of(step)), variables)
        yield model.to_pil()


def motion_pattern(width: int, height: int) -> Image.Image:
    """A picture whose motion is easy to read: grid lines show translation and zoom, a centre ring shows
    zoom, and coloured marks in three corners plus an "F" (no symmetry) show the direction of rotation."""
    image = Image.new("RGB", (width, height), (32, 32, 40))
    draw = ImageDraw.Draw(image)
    side = min(width, height)
    line = max(1, side // 128)
    spacing = max(4, side // 8)
    for x in range(0, width, spacing):
        draw.line([(x, 0), (x, height)], fill=(110, 110, 120), width=line)
    for y in range(0, height, spacing):
        draw.line([(0, y), (width, y)], fill=(110, 110, 120), width=line)
    mark = max(2, side // 10)
    draw.rectangle([side // 16, side // 16, side // 16 + mark, side // 16 + mark], fill=(230, 40, 40))
    draw.ellipse([width - side // 16 - mark, side // 16, width - side // 16, side // 16 + mark], fill=(40, 200, 60))
    draw.polygon([(side // 16, height - side // 16), (side // 16 + mark, height - side // 16),
                  (side // 16, height - side // 16 - mark)], fill=(50, 90, 240))
    cx, cy, unit = width // 2, height // 2, max(1, side // 24)
    draw.ellipse([cx - 4 * unit, cy - 4 * unit, cx + 4 * unit, cy + 4 * unit], outline=(240, 240, 240), width=line)
    draw.rectangle([cx - unit, cy - 3 * unit, cx, cy + 3 * unit], fill=(250, 210, 40))
    draw.rectangle([cx, cy - 3 * unit, cx + 2 * unit, cy - 2 * unit], fill=(250, 210, 40))
    draw.rectangle([cx, cy - unit // 2, cx + unit, cy + unit // 2], fill=(250, 210, 40))
    return image
