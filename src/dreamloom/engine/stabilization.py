"""Stabilization in an animation: each frame is kept close to the previous frame as the motion moved it.

pytti (animation-losses-outputs §1.2 step 6.5, §6.11), at every frame boundary of an animation, after the
mode's motion: the stabilization losses (direct, edge) aim at the moved picture (pytti's
``next_step_pil``) and are enabled; the semantic stabilization prompt is re-embedded from that picture and
enabled; the init losses (direct init, the semantic init prompt) are switched off for good. The hook asks
only for ``model.to_pil()``, so 3D can reuse it after its own motion; Video Source aims it at the video
frame instead (``aim_at``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from dreamloom.draws import SEED_MODULUS
from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.engine.image_terms import PictureTerm, TermRole
from dreamloom.engine.semantic import ScenePrompts
from dreamloom.engine.terms import ImageLossTerm
from dreamloom.images.base import ImageModel
from dreamloom.images.pictures import picture_to_tensor
from dreamloom.plan import StepVariables

#: Tags the random stream of the semantic stabilization cutouts among those derived from the run's seed.
STABILIZATION_STREAM = 2


def stabilization_generator(seed: int, frame: int) -> torch.Generator:
    """The generator of frame ``frame``'s re-embedding cutouts: a function of the seed and the frame alone,
    so a resumed run re-embeds exactly as the uninterrupted one did."""
    state = np.random.SeedSequence([seed % SEED_MODULUS, STABILIZATION_STREAM, frame]).generate_state(1, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


class StabilizationHook(FrameHook):
    """Aims the stabilization losses at the moved picture each frame and switches the init losses off.

    ``terms`` are the run's image terms (its picture terms are sorted by role); ``prompts`` holds the
    semantic init and stabilization prompts, if any. ``aim_at`` gives the frame's target picture: the moved
    picture by default, the video frame in Video Source mode.
    """

    name = "stabilization"
    stage = HookStage.LOSS_TARGETS

    def __init__(
        self,
        model: ImageModel,
        terms: Sequence[ImageLossTerm],
        prompts: ScenePrompts | None,
        seed: int,
        *,
        aim_at: Callable[[], Image.Image] | None = None,
    ) -> None:
        self.aim_at = aim_at if aim_at is not None else model.to_pil
        pictures = [term for term in terms if isinstance(term, PictureTerm)]
        self.init_terms = [term for term in pictures if term.role is TermRole.INIT]
        self.targets = [term for term in pictures if term.role is TermRole.STABILIZATION]
        self.guide = prompts.guide if prompts is not None else None
        self.init_prompt = prompts.extra.init if prompts is not None else None
        self.stabilization_prompt = prompts.extra.stabilization if prompts is not None else None
        self.seed = seed
        self.frame: int | None = None
        self.picture: Image.Image | None = None

    @property
    def active(self) -> bool:
        """Whether the hook has anything to do (else the run need not register it)."""
        prompts = self.init_prompt is not None or self.stabilization_prompt is not None
        return bool(self.init_terms or self.targets or prompts)

    @property
    def aims(self) -> bool:
        """Whether anything is aimed at the moved picture."""
        return bool(self.targets) or self.stabilization_prompt is not None

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        self.aim(start.frame, self.aim_at() if self.aims else None)

    def aim(self, frame: int, picture: Image.Image | None) -> None:
        """Frame ``frame``'s targets: stabilization toward ``picture`` (the moved picture), init losses off."""
        self.frame, self.picture = frame, picture
        for term in self.init_terms:
            term.enabled = False
        if self.guide is not None and self.init_prompt is not None:
            self.guide.set_enabled(self.init_prompt, False)
        if picture is None:
            return
        for term in self.targets:
            term.retarget(picture)
            term.enabled = True
        if self.guide is not None and self.stabilization_prompt is not None:
            generator = stabilization_generator(self.seed, frame)
            self.guide.set_image_target(self.stabilization_prompt, picture_to_tensor(picture), generator)
            self.guide.set_enabled(self.stabilization_prompt, True)

    def state(self) -> dict[str, Any]:
        """The frame the targets were last aimed at and the picture they aim at (8-bit RGB, [H, W, 3])."""
        if self.frame is None:
            return {}
        state: dict[str, Any] = {"frame": torch.tensor(self.frame)}
        if self.picture is not None:
            state["picture"] = torch.from_numpy(np.asarray(self.picture, dtype=np.uint8).copy())
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Aim again at the saved picture: loss functions are rebuilt and the prompt re-embedded identically."""
        if "frame" in state:
            picture = Image.fromarray(state["picture"].numpy(), "RGB") if "picture" in state else None
            self.aim(int(state["frame"]), picture)
