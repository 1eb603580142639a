"""Image loss terms of a plan: smoothing, the direct init image and direct image prompts.

Targets and masks are read here, before the first step, so a missing file fails at once.
"""

from __future__ import annotations

import torch
from PIL import Image

from dreamloom.dsl.fields import DEFAULT_STOP
from dreamloom.dsl.tree import Mask, MaskKind, display_label
from dreamloom.engine.terms import ImageLossTerm
from dreamloom.errors import SettingsError
from dreamloom.images.base import ImageModel
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.losses.smoothing import tv_loss
from dreamloom.plan import Plan
from dreamloom.settings.schema import Settings
from dreamloom.sources import load_image


def resolve_size(settings: Settings, init_picture: Image.Image | None) -> tuple[int, int]:
    """(width, height) in parameter pixels; a -1 side follows the init image's aspect ratio (pytti truncates)."""
    width, height = settings.width, settings.height
    if init_picture is not None and width == -1:
        width = max(1, int(height * init_picture.width / init_picture.height))
    if init_picture is not None and height == -1:
        height = max(1, int(width * init_picture.height / init_picture.width))
    return width, height


def _mask_tensor(mask: Mask | None, setting: str, device: torch.device) -> torch.Tensor | None:
    """A direct loss's mask as [1, 1, h, w] in [0, 1] (inverted if asked); None for the whole picture."""
    if mask is None:
        return None
    if mask.kind is not MaskKind.IMAGE or mask.path is None:
        raise SettingsError(f"{setting}: direct losses take image masks only on still renders (got a {mask.kind.value} mask).")
    picture = load_image(mask.path, setting, mode="L")
    tensor = picture_to_tensor(picture, picture.size, device=device, dtype=torch.float32)[:, :1]
    return 1 - tensor if mask.inverted else tensor


def build_image_terms(plan: Plan, model: ImageModel, init_picture: Image.Image | None) -> list[ImageLossTerm]:
    """Loss terms on the decoded picture, in pytti's logging order: init, direct prompts, smoothing."""
    device = next(model.parameters()).device
    terms: list[ImageLossTerm] = []
    if plan.direct_init is not None and init_picture is not None:
        mask = _mask_tensor(plan.direct_init.mask, "direct_init_weight", device)
        loss = model.direct_loss(init_picture, mask)
        terms.append(ImageLossTerm("init image (direct)", plan.direct_init.weight, plan.direct_init.stop, loss))
    for prompt in plan.direct_prompts:
        mask = _mask_tensor(prompt.mask, "direct_image_prompts", device)
        loss = model.direct_loss(load_image(prompt.source, "direct_image_prompts"), mask)
        terms.append(ImageLossTerm(display_label(f"{prompt.source} (direct)"), prompt.weight, prompt.stop, loss))
    if plan.smoothing.constant != 0:
        terms.append(ImageLossTerm("smoothing loss (TV)", plan.smoothing, DEFAULT_STOP, lambda picture: tv_loss(picture)[0]))
    return terms
