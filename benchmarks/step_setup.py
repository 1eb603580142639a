"""Build the engine's real run with random weights, through the run builder ``render`` uses.

No downloads: perceptors are open_clip architectures built with ``pretrained=None`` and wrapped exactly as
the loader wraps loaded ones (packed attention, frozen, eval); a VQGAN is its full registered architecture
with random initialisation. Everything else (plan, image model, image loss terms, scene prompts, optimiser,
frame loop) comes from ``dreamloom.engine.run.build_run``. Shared by the benchmark scripts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from collections.abc import Callable
from typing import Any

import open_clip
import torch

from dreamloom.engine.run import Run, build_run
from dreamloom.engine.semantic import ScenePrompts, build_scene_prompts
from dreamloom.images.vqgan import VQGAN, VQGANImage, get_spec
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.perceptors import PerceptorSpec, wrap_perceptor
from dreamloom.plan import build_plan
from dreamloom.settings.choices import ImageModelChoice
from dreamloom.settings.schema import Settings

__all__ = ["CONFIGS", "StepConfig", "build_open_clip", "build_perceptor", "build_step_run", "perceptor_floor", "perceptors_of"]

SCENES = "a lighthouse on a cliff at dusk | oil painting:0.5 | blurry:-0.3"


@dataclass(frozen=True)
class StepConfig:
    """One benchmark configuration: image size, cutouts, open_clip architectures and image model.

    ``perceptors`` holds open_clip model names, or an ``open_clip.CLIP`` keyword dict for tiny models.
    """

    name: str
    size: int
    cutouts: int
    perceptors: tuple[str | dict[str, Any], ...]
    image_model: ImageModelChoice = ImageModelChoice.UNLIMITED
    settings: dict[str, Any] = field(default_factory=dict)

    def scaled(self, cutouts: int) -> StepConfig:
        """The same configuration with another cutout count (quick runs)."""
        return replace(self, name=f"{self.name}@{cutouts}", cutouts=cutouts)


VIT_B32 = "ViT-B-32-quickgelu"
RN50 = "RN50-quickgelu"
#: A 2-layer random ViT at 64 px: the flat-time benchmark and the quality tests use it.
TINY_VIT: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "patch_size": 16, "width": 128, "head_width": 32, "layers": 2},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}

CONFIGS: dict[str, StepConfig] = {
    config.name: config
    for config in (
        StepConfig("vit-256", 256, 32, (VIT_B32,)),
        StepConfig("vit-512", 512, 40, (VIT_B32,)),
        StepConfig("palette-256", 256, 32, (VIT_B32,), ImageModelChoice.LIMITED),
        StepConfig("two-256", 256, 32, (VIT_B32, RN50)),
        StepConfig("vqgan-256", 256, 32, (VIT_B32,), ImageModelChoice.VQGAN, {"vqgan_model": "imagenet"}),
        StepConfig("tiny-64", 64, 8, (TINY_VIT,)),
    )
}


def build_open_clip(architecture: str | dict[str, Any], device: torch.device) -> tuple[torch.nn.Module, PerceptorSpec]:
    """A randomly initialised open_clip model (seed 0), unwrapped, and the spec the loader would give it."""
    torch.manual_seed(0)
    if isinstance(architecture, dict):
        model = open_clip.CLIP(
            embed_dim=architecture["embed_dim"],
            vision_cfg=open_clip.CLIPVisionCfg(**architecture["vision_cfg"]),
            text_cfg=open_clip.CLIPTextCfg(**architecture["text_cfg"]),
        )
        model.visual.preprocess_cfg = {}
        return model.to(device), PerceptorSpec("tiny", "ViT-B-32-quickgelu", None)
    logging.getLogger().setLevel(logging.ERROR)  # open_clip warns that no pretrained weights were loaded
    model = open_clip.create_model(architecture, pretrained=None)
    return model.to(device), PerceptorSpec(architecture, architecture, None)


def build_perceptor(architecture: str | dict[str, Any], device: torch.device, precision: torch.dtype) -> Perceptor:
    """A randomly initialised perceptor wrapped as the loader wraps pretrained ones."""
    model, spec = build_open_clip(architecture, device)
    return wrap_perceptor(spec, model, precision)


def _settings(config: StepConfig, precision: str) -> Settings:
    return Settings(
        scenes=SCENES,
        width=config.size,
        height=config.size,
        cutouts=config.cutouts,
        image_model=config.image_model,
        precision=precision,
        steps_per_scene=1_000_000,
        seed=1,
        **config.settings,
    )


def _random_vqgan(settings: Settings, device: torch.device) -> VQGANImage | None:
    """A VQGAN image model with random network weights (None for the other image models: the builder's own)."""
    if settings.image_model is not ImageModelChoice.VQGAN:
        return None
    torch.manual_seed(0)
    network = VQGAN(get_spec(settings.vqgan_model.value)).to(device).eval().requires_grad_(False)
    return VQGANImage(network, settings.width, settings.height, settings.pixel_size)


def build_step_run(config: StepConfig, device: torch.device, precision: torch.dtype, *, total_steps: int = 1_000_000) -> Run:
    """The render's run for ``config`` (random perceptors and VQGAN, random init picture)."""
    precision_name = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[precision]
    settings = _settings(config, precision_name).model_copy(update={"steps_per_scene": total_steps})
    plan = build_plan(settings)
    perceptors = [build_perceptor(name, device, precision) for name in config.perceptors]
    return build_run(plan, device, prompts=build_scene_prompts(plan, perceptors), model=_random_vqgan(settings, device))


def perceptors_of(run: Run) -> list[Perceptor]:
    """The perceptors inside a built run (through its scene prompts)."""
    assert isinstance(run.prompts, ScenePrompts)
    return run.prompts.guide.perceptors


def perceptor_floor(perceptors: list[Perceptor], cutouts: int, generator: torch.Generator) -> Callable[[], None]:
    """The perceptors' own forward and backward on ``cutouts`` fixed random inputs: the step's lower bound.

    Returns a function that runs it once; the gradient flows to the inputs only, as in a step (the weights
    are frozen).
    """
    inputs = [
        torch.rand(cutouts, 3, p.input_size, p.input_size, generator=generator).to(p.device) for p in perceptors
    ]

    def run() -> None:
        for perceptor, pictures in zip(perceptors, inputs):
            leaf = pictures.detach().requires_grad_(True)
            perceptor.encode_image(leaf).sum().backward()

    return run
