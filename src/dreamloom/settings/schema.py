"""The typed schema of every dreamloom setting: pytti-core's keys, spellings and defaults, plus dreamloom's own.

Settings are parsed once at the edge (see :mod:`dreamloom.settings.loading`) and passed down as this frozen
object. Expression-valued settings (weights, motion) stay expression *strings* here; the scene-language
layer compiles them when the plan is built.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dreamloom.settings.choices import (
    AnimationMode,
    BorderMode,
    Choice,
    DepthModel,
    ImageModelChoice,
    InfillMode,
    InterpolationMode,
    OpticalFlowModel,
    Precision,
    SamplingMode,
    VideoFormat,
    VqganModel,
)
from dreamloom.settings.perceptor_flags import PYTTI_PERCEPTOR_FLAGS


def _expression_text(value: Any) -> Any:
    """Keep expression settings as text: numbers become their literal, YAML lists their bracketed form."""
    if isinstance(value, bool):
        return value  # rejected by the str type with a clear message
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value}")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(_expression_text(item)) for item in value) + "]"
    return value


def _choice(enum_type: type[Choice]) -> BeforeValidator:
    return BeforeValidator(enum_type.lookup)


Expr = Annotated[str, BeforeValidator(_expression_text)]
"""An expression string such as ``'10*fHi'``, ``'sin(t)'`` or ``'[1, 0, 0, 0]'``."""


class CrossFieldError(ValueError):
    """Settings that are valid one by one but not together; ``problems`` lists (setting, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))
        self.problems = problems


AUDIO_ANALYSIS_RATE = 44_100
"""Samples per second at which input_audio is analysed (pytti's rate): filter bands lie below half of it."""

MAX_SIDE = 8192
"""The most parameter pixels an image side may have (more does not fit any accelerator's memory)."""
MAX_OUTPUT_SIDE = 16384
"""The most pixels a saved picture's side may have (``width`` or ``height`` × ``pixel_size``)."""
MAX_STEPS = 1_000_000
"""The most steps any step count (per scene, per frame, between saves, …) may be."""
MAX_CUTOUTS = 4096
"""The most cutouts a step may show the perceptors."""
MAX_WEIGHT = 1e6
"""The largest magnitude of a numeric loss weight."""
MAX_SECONDS = 86_400.0
"""The longest span of time (offsets, smoothing) a setting may name: a day."""


class AudioFilter(BaseModel):
    """One Butterworth band-pass filter whose envelope becomes an expression variable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    variable_name: str = Field(description="Name of the variable that carries this band's level.")
    f_center: float = Field(gt=0, lt=AUDIO_ANALYSIS_RATE / 2, description="Centre frequency of the band in Hz.")
    f_width: float = Field(gt=0, lt=AUDIO_ANALYSIS_RATE, description="Width of the band in Hz.")
    order: int = Field(default=5, ge=1, le=20, description="Filter order; higher is a steeper band edge.")
    attack: float = Field(default=0, ge=0, le=MAX_SECONDS, description="Seconds the value takes to rise about 63 % of the way to a louder level; 0 follows at once.")
    release: float = Field(default=0, ge=0, le=MAX_SECONDS, description="Seconds the value takes to fall about 63 % of the way to a quieter level; 0 follows at once.")

    @field_validator("variable_name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name == "t":
            raise ValueError("must be a name made of letters, digits and _ that starts with a letter (not 't')")
        return name

    @model_validator(mode="after")
    def _band_inside_nyquist(self) -> AudioFilter:
        low, high = self.f_center - self.f_width / 2, self.f_center + self.f_width / 2
        if low <= 0 or high >= AUDIO_ANALYSIS_RATE / 2:
            raise ValueError(
                f"the band of {self.variable_name!r} runs from {low:g} to {high:g} Hz; it must lie strictly between "
                f"0 and {AUDIO_ANALYSIS_RATE / 2:g} Hz (audio is analysed at {AUDIO_ANALYSIS_RATE} Hz), so make "
                f"f_width smaller than 2 × f_center and f_center + f_width/2 below {AUDIO_ANALYSIS_RATE / 2:g}"
            )
        return self


class MmcModel(BaseModel):
    """A pytti ``mmc_models`` entry; dreamloom maps CLIP entries onto open_clip models.

    As in pytti, the entries only matter with ``use_mmc: true``; :meth:`Settings._consistent` then checks
    that each names a CLIP model fully.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    architecture: str = Field(default="clip", description="Model family, e.g. clip.")
    publisher: str | None = Field(default=None, description="Who published the weights, e.g. openai or mlfoundations.")
    id: str | None = Field(default=None, description="The model id, e.g. ViT-B/32 or ViT-B-32--laion2b_e16.")

    def problem(self) -> str | None:
        """Why dreamloom cannot load this entry, or None."""
        if self.architecture.strip().lower() != "clip":
            return (f"{self.architecture.upper()} perceptors are not supported (yet); use a CLIP model, e.g. "
                    "{architecture: clip, publisher: openai, id: ViT-B/32}, or set use_mmc: false and use the flags "
                    "(ViTB32, ...) or `perceptors`")
        missing = [name for name in ("publisher", "id") if not getattr(self, name)]
        if missing:
            return (f"needs {' and '.join(missing)} (dreamloom loads one model per entry), e.g. "
                    "{architecture: clip, publisher: openai, id: ViT-B/32}")
        return None

    def perceptor_name(self) -> str:
        """The dreamloom perceptor name: OpenAI ids become pytti flags, ``MODEL--TAG`` becomes ``MODEL/TAG``."""
        publisher, model_id = self.publisher or "", self.id or ""
        if publisher.strip().lower() == "openai":
            return model_id.replace("/", "").replace("-", "").replace("@", "_")
        model, separator, tag = model_id.partition("--")
        return f"{model}/{tag}" if separator else model_id


class Settings(BaseModel):
    """Every setting of a dreamloom run. Field order is the order of the settings reference."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, allow_inf_nan=False)

    # --- Prompt controls -------------------------------------------------------------------------------
    scenes: str = Field(default="", description="Scenes separated by `||`, prompts within a scene by `|` (see docs/scene-language.md).")
    scene_prefix: str = Field(default="", description="Text glued to the start of every scene.")
    scene_suffix: str = Field(default="", description="Text glued to the end of every scene.")
    interpolation_steps: int = Field(default=0, ge=0, le=MAX_STEPS, description="Steps at the start of each scene that blend in from the previous scene; 0 disables.")
    steps_per_scene: int = Field(default=100, ge=1, le=MAX_STEPS, description="Optimisation steps spent on each scene.")
    direct_image_prompts: str = Field(default="", description="Images the picture should literally resemble: `path:weight_mask:stop`, separated by `|`.")
    init_image: str = Field(default="", description="Path or URL of an image to start from instead of noise.")
    direct_init_weight: Expr = Field(default="", description="Weight of the init image as a direct (pixel) target; supports masks and stops.")
    semantic_init_weight: Expr = Field(default="", description="Weight of the init image as a semantic (CLIP) prompt added to every scene.")

    # --- Image representation --------------------------------------------------------------------------
    width: int = Field(default=512, le=MAX_SIDE, description="Image width in parameter pixels; -1 derives it from the init image's aspect ratio (Video Source without one: the video's).")
    height: int = Field(default=512, le=MAX_SIDE, description="Image height in parameter pixels; -1 derives it from the init image's aspect ratio (Video Source without one: the video's).")
    pixel_size: int = Field(default=1, ge=1, le=64, description="Integer upscaling of the output (nearest neighbour).")
    smoothing_weight: Expr = Field(default="0.02", description="Total-variation smoothing; negative values sharpen (the deep-fried look).")
    image_model: Annotated[ImageModelChoice, _choice(ImageModelChoice)] = Field(default=ImageModelChoice.UNLIMITED, description="How the picture is represented.")
    vqgan_model: Annotated[VqganModel, _choice(VqganModel)] = Field(default=VqganModel.SFLCKR, description="Which VQGAN to use with `image_model: VQGAN`.")
    random_initial_palette: bool = Field(default=False, description="Limited Palette: start from random colours instead of grey ramps.")
    palette_size: int = Field(default=5, ge=1, le=256, description="Limited Palette: colours per palette.")
    palettes: int = Field(default=20, ge=1, le=1024, description="Limited Palette: number of palettes (total colours = palettes × palette_size).")
    gamma: float = Field(default=1.0, ge=0, le=100, description="Limited Palette: relative gamma; higher is darker and more contrasted.")
    hdr_weight: float = Field(default=0.01, ge=-MAX_WEIGHT, le=MAX_WEIGHT, description="Limited Palette: how strongly `gamma` is maintained; 0 disables.")
    palette_normalization_weight: float = Field(default=0.2, ge=-MAX_WEIGHT, le=MAX_WEIGHT, description="Limited Palette: keeps every palette present in the image.")
    show_palette: bool = Field(default=False, description="Limited Palette: write and display a palette swatch.")
    target_palette: str = Field(default="", description="Limited Palette: image whose colours become the (locked) palette.")
    lock_palette: bool = Field(default=False, description="Limited Palette: keep the initial palette fixed.")

    # --- Animation -------------------------------------------------------------------------------------
    animation_mode: Annotated[AnimationMode, _choice(AnimationMode)] = Field(default=AnimationMode.OFF, description="off, 2D, 3D or Video Source.")
    sampling_mode: Annotated[SamplingMode, _choice(SamplingMode)] = Field(default=SamplingMode.BICUBIC, description="Resampling used when the image moves.")
    infill_mode: Annotated[InfillMode, _choice(InfillMode)] = Field(default=InfillMode.WRAP, description="How pixels that enter from the edge are filled.")
    pre_animation_steps: int = Field(default=50, ge=0, le=MAX_STEPS, description="Steps before the first frame moves.")
    steps_per_frame: int = Field(default=50, ge=1, le=MAX_STEPS, description="Steps between two frames.")
    frames_per_second: float = Field(default=12, gt=0, le=1000, description="Frame rate; sets how `t` advances.")
    direct_stabilization_weight: Expr = Field(default="", description="Keep each frame close to the moved previous frame (or the video frame), pixel-wise.")
    semantic_stabilization_weight: Expr = Field(default="", description="Keep each frame close to the previous frame in CLIP space.")
    depth_stabilization_weight: Expr = Field(default="", description="Keep the depth map consistent between frames (slow).")
    edge_stabilization_weight: Expr = Field(default="", description="Keep the image's contours consistent between frames.")
    flow_stabilization_weight: Expr = Field(default="", description="3D and Video Source: follow optical flow to prevent flicker.")
    video_path: str = Field(default="", description="Source video for `animation_mode: Video Source`.")
    frame_stride: int = Field(default=1, ge=1, le=10_000, description="Video frames to advance per output frame.")
    reencode_each_frame: bool = Field(default=True, description="Video Source: start each frame from the video frame instead of the warped previous output.")
    flow_long_term_samples: int = Field(default=1, ge=0, le=8, description="Video Source: frames sampled 2, 4, 8… back for flow consistency; 0 disables.")
    optical_flow_model: Annotated[OpticalFlowModel, _choice(OpticalFlowModel)] = Field(default=OpticalFlowModel.RAFT_LARGE, description="Video Source: the optical flow, raft-large, raft-small (torchvision RAFT, registry weights) or dis (OpenCV, no weights, fast on a CPU).")

    # --- Motion ----------------------------------------------------------------------------------------
    translate_x: Expr = Field(default="0", description="Horizontal motion per frame (expression of `t`).")
    translate_y: Expr = Field(default="0", description="Vertical motion per frame (expression of `t`).")
    translate_z_3d: Expr = Field(default="0", description="3D: forward motion per frame.")
    rotate_3d: Expr = Field(default="[1, 0, 0, 0]", description="3D: rotation per frame as a quaternion `[r, x, y, z]`.")
    rotate_2d: Expr = Field(default="0", description="2D: rotation per frame in degrees.")
    zoom_x_2d: Expr = Field(default="0", description="2D: horizontal zoom per frame.")
    zoom_y_2d: Expr = Field(default="0", description="2D: vertical zoom per frame.")
    lock_camera: bool = Field(default=True, description="3D: remove the mean motion, preventing drift.")
    field_of_view: float = Field(default=60, gt=0, lt=180, description="3D: vertical field of view in degrees.")
    near_plane: float = Field(default=1, gt=0, le=1e9, description="3D: pytti's depth scale, the distance in pixels of 1 mm; each frame's nearest point is put at 1 m (docs/animation.md).")
    far_plane: float = Field(default=10000, gt=0, le=1e9, description="3D: the distance in pixels of 10 m, where each frame's farthest point is put.")
    depth_model: Annotated[DepthModel, _choice(DepthModel)] = Field(default=DepthModel.DEPTH_ANYTHING_V2_SMALL, description="3D: depth-anything-v2-small, depth-anything-v2-base, or flat (no weights: a plane at mid-depth).")

    # --- Audio -----------------------------------------------------------------------------------------
    input_audio: str = Field(default="", description="Audio file whose bands drive expression variables (and the video's soundtrack).")
    input_audio_offset: float = Field(default=0, ge=0, le=MAX_SECONDS, description="Seconds into the audio where the animation starts.")
    input_audio_filters: list[AudioFilter] = Field(default_factory=list, description="Band-pass filters: `variable_name`, `f_center`, `f_width`, `order`, and optional `attack`/`release` smoothing in seconds (see docs/audio.md).")
    input_audio_beat_half_life: float = Field(default=0.25, ge=0, le=3600, description="Seconds after a detected beat in which the `beat` variable falls from 1 to 0.5; 0 makes it 1 on beat frames only.")

    # --- Output ----------------------------------------------------------------------------------------
    file_namespace: str = Field(default="default", description="Name of the output folder (and of the files in it).")
    allow_overwrite: bool = Field(default=False, description="Overwrite an earlier run's files instead of numbering a new run.")
    display_every: int = Field(default=50, ge=0, le=MAX_STEPS, description="Steps between progress reports and preview updates; 0 disables.")
    clear_every: int = Field(default=0, ge=0, le=MAX_STEPS, description="Notebooks: steps between clearing the output; 0 never clears.")
    display_scale: float = Field(default=1, gt=0, le=16, description="Scale of the preview (shown inline in notebooks, else <base>_preview.png).")
    save_every: int = Field(default=50, ge=0, le=MAX_STEPS, description="Steps between saved frames; 0 saves only the final image.")
    backups: int | Literal["all"] = Field(default=3, description="State backups to keep for `--resume` (a number, or `all`).")
    show_graphs: bool = Field(default=False, description="Write loss graphs (<base>_losses.png) at every save.")
    approximate_vram_usage: bool = Field(default=False, description="Report peak memory (device memory on GPU, resident memory on CPU).")
    use_tensorboard: bool = Field(default=False, description="Log losses and images to TensorBoard (if installed).")
    output_dir: str = Field(default="images_out", description="Folder under which `file_namespace` folders are made.")
    backup_dir: str = Field(default="backup", description="Folder under which backups are kept per `file_namespace`.")
    video_format: Annotated[VideoFormat, _choice(VideoFormat)] = Field(default=VideoFormat.MP4, description="Animations: the video written from the frames at the end (`<base>.mp4`, `.gif` or `.webm`, with `input_audio` as its sound); off writes none.")
    video_crf: int = Field(default=18, ge=0, le=51, description="Video quality (constant rate factor) of mp4 and webm: lower is better and larger; 18 looks lossless to most eyes.")

    # --- Perceptors ------------------------------------------------------------------------------------
    ViTB32: bool = Field(default=True, description="Use OpenAI CLIP ViT-B/32.")
    ViTB16: bool = Field(default=False, description="Use OpenAI CLIP ViT-B/16.")
    ViTL14: bool = Field(default=False, description="Use OpenAI CLIP ViT-L/14.")
    ViTL14_336px: bool = Field(default=False, description="Use OpenAI CLIP ViT-L/14 at 336 px.")
    RN50: bool = Field(default=False, description="Use OpenAI CLIP RN50.")
    RN101: bool = Field(default=False, description="Use OpenAI CLIP RN101.")
    RN50x4: bool = Field(default=False, description="Use OpenAI CLIP RN50x4.")
    RN50x16: bool = Field(default=False, description="Use OpenAI CLIP RN50x16.")
    RN50x64: bool = Field(default=False, description="Use OpenAI CLIP RN50x64.")
    perceptors: list[str] = Field(default_factory=list, description="More perceptors: open_clip `MODEL/PRETRAINED` names, or `demo` for the bundled model.")
    use_mmc: bool = Field(default=False, description="Use `mmc_models` (mapped onto open_clip) instead of the flags.")
    mmc_models: list[MmcModel] = Field(default_factory=list, description="pytti's mmc model list: `architecture`, `publisher`, `id`.")
    learning_rate: float | None = Field(default=None, gt=0, le=100, description="Optimiser step size; null uses the image model's default.")
    reset_lr_each_frame: bool = Field(default=True, description="Start a fresh optimiser at every animation frame.")
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**64, description="Random seed, any integer `torch.manual_seed` takes (pytti's negative seeds included); null (or pytti's `${now:%f}`) draws one when the settings are loaded, and the value used is saved.")
    cutouts: int = Field(default=40, ge=1, le=MAX_CUTOUTS, description="Glimpses of the image shown to the perceptors each step.")
    cut_pow: float = Field(default=2, gt=0, le=100, description="Larger values make cutouts smaller (more detail).")
    cutout_border: float = Field(default=0.25, ge=0, le=1, description="How far cutouts may poke out over the edges, as a fraction of the image.")
    border_mode: Annotated[BorderMode, _choice(BorderMode)] = Field(default=BorderMode.CLAMP, description="How cutouts that stick out over the edge are filled.")
    gradient_accumulation_steps: int = Field(default=1, ge=1, le=MAX_CUTOUTS, description="Split the cutouts into this many batches (must divide `cutouts`).")
    models_parent_dir: str = Field(default="", description="Where model weights are cached; empty means `~/.cache/dreamloom`.")
    device: str = Field(default="auto", description="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N, mps; pytti's integer N means CUDA device N when CUDA exists.")
    precision: Annotated[Precision, _choice(Precision)] = Field(default=Precision.AUTO, description="Perceptor precision: auto, fp32, bf16 or fp16.")
    interpolation_mode: Annotated[InterpolationMode, _choice(InterpolationMode)] = Field(default=InterpolationMode.LOSS, description="Scene blending: `loss` (pytti's loss ramp) or `embedding` (blend prompts in CLIP space).")

    @model_validator(mode="before")
    @classmethod
    def _pytti_nulls(cls, values: Any) -> Any:
        """pytti reads a null setting as "not set": a flag as false, a list as empty, optional text as empty."""
        if not isinstance(values, dict):
            return values
        return {key: _null_value(key) if value is None else value for key, value in values.items()}

    @field_validator("*", mode="before")
    @classmethod
    def _no_flag_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's true/false are not numbers: ``width: true`` is refused instead of read as 1."""
        if isinstance(value, bool) and info.field_name is not None and _numeric(cls.model_fields[info.field_name].annotation):
            raise ValueError("must be a number, not true/false")
        return value

    @field_validator("width", "height")
    @classmethod
    def _size(cls, value: int) -> int:
        if value != -1 and value < 1:
            raise ValueError("must be at least 1, or -1 to derive it from init_image")
        return value

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be auto, cpu, cuda, cuda:N, mps or a CUDA device number")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?|\d+", value.strip()):
            raise ValueError("must be auto, cpu, cuda, cuda:N, mps or a CUDA device number")
        return value.strip() if isinstance(value, str) else value

    @field_validator("file_namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not value.strip() or re.search(r"[/\\]|^\.\.?$", value):
            raise ValueError("must be a plain folder name (no slashes)")
        return value

    @field_validator("file_namespace", "output_dir", "backup_dir", "models_parent_dir", "init_image",
                     "target_palette", "video_path", "input_audio")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        """No file name can hold a NUL character; refused here rather than by the system mid-run."""
        if "\0" in value:
            raise ValueError("contains a NUL character (\\0), which no file or folder name can hold")
        return value

    @field_validator("backups", mode="before")
    @classmethod
    def _backups(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "all":
            return "all"
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STEPS:
            raise ValueError(f"must be a number of backups (0 or more) or 'all'; at most {MAX_STEPS}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems: list[tuple[str, str]] = []
        if self.cutouts % self.gradient_accumulation_steps:
            problems.append(
                ("gradient_accumulation_steps", f"{self.gradient_accumulation_steps} does not divide cutouts "
                 f"({self.cutouts}); choose a divisor of cutouts")
            )
        for side in ("width", "height"):
            video = self.animation_mode is AnimationMode.VIDEO_SOURCE and self.video_path
            if getattr(self, side) == -1 and not self.init_image and not video:
                problems.append((side, "-1 needs an init_image (or, in Video Source mode, a video_path) to take the aspect ratio from"))
        if self.width == -1 and self.height == -1:
            problems.append(("height", "only one of width and height may be -1"))
        for side in ("width", "height"):
            if getattr(self, side) * self.pixel_size > MAX_OUTPUT_SIDE:
                problems.append(("pixel_size", (f"{side} {getattr(self, side)} × pixel_size {self.pixel_size} makes "
                                                f"pictures wider than {MAX_OUTPUT_SIDE} pixels; lower one of them")))
        if self.far_plane <= self.near_plane:
            problems.append(("far_plane", f"{self.far_plane:g} must be greater than near_plane ({self.near_plane:g})"))
        if self.use_mmc:
            problems += [
                ("mmc_models", f"entry {index} {model.model_dump(exclude_none=True)} {problem}")
                for index, model in enumerate(self.mmc_models)
                if (problem := model.problem()) is not None
            ]
        if problems:
            raise CrossFieldError(problems)
        return self

    def perceptor_names(self) -> list[str]:
        """The perceptors to load, in order: pytti flags (pytti's order), mmc models, then `perceptors`."""
        names = [flag for flag in PYTTI_PERCEPTOR_FLAGS if getattr(self, flag)]
        if self.use_mmc:
            names = [model.perceptor_name() for model in self.mmc_models]
        return names + [name for name in self.perceptors if name not in names]


SETTING_NAMES: tuple[str, ...] = tuple(Settings.model_fields)


def _numeric(annotation: Any) -> bool:
    """Whether a setting's type holds numbers (``int``, ``float``, ``float | None``, ``int | 'all'``)."""
    return annotation in (int, float) or any(argument in (int, float) for argument in get_args(annotation))


def _null_value(key: str) -> Any:
    """What a null means for ``key``: false for a flag, empty for a list or optional text, else null itself."""
    info = Settings.model_fields.get(key)
    if info is None:
        return None
    if info.annotation is bool:
        return False
    if get_origin(info.annotation) is list:
        return []
    if info.annotation is str and info.default == "":
        return ""
    return None
