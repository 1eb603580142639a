"""Per-phase wall time of the engine step, without touching the engine: its collaborators are wrapped.

Time is exclusive: while a nested phase runs (the perceptor's forward inside the prompt losses, say) it
counts for the inner phase only, so the phases add up to the step. On CUDA every phase boundary
synchronises the device, which is why the headline step time is measured in a separate, unwrapped pass.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import torch

from step_setup import perceptors_of

from dreamloom.engine.run import Run
from dreamloom.perception import views

__all__ = ["PHASES", "PhaseTimer", "instrument"]

PHASES = ("decode", "cutouts+aug", "perceptor fwd", "losses", "backward", "optimiser", "other")


class PhaseTimer:
    """Accumulates exclusive seconds per phase; ``sync`` is called at every boundary (device timing)."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self.totals: dict[str, float] = defaultdict(float)
        self._stack: list[str] = []
        self._mark = 0.0

    def _now(self) -> float:
        self.sync()
        return time.perf_counter()

    def enter(self, phase: str) -> None:
        now = self._now()
        if self._stack:
            self.totals[self._stack[-1]] += now - self._mark
        self._stack.append(phase)
        self._mark = now

    def leave(self) -> None:
        now = self._now()
        self.totals[self._stack.pop()] += now - self._mark
        self._mark = now

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` timed as ``phase``."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(phase)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        return timed

    def take(self) -> dict[str, float]:
        """The totals since the last call, then start again from zero."""
        totals = {phase: self.totals.get(phase, 0.0) for phase in PHASES}
        self.totals.clear()
        return totals


@contextlib.contextmanager
def _patched(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    """Set ``owner.name`` for the block, then restore what ``owner`` itself held (or drop the attribute)."""
    had = name in vars(owner)
    original = vars(owner).get(name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if had:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


@contextlib.contextmanager
def instrument(run: Run, timer: PhaseTimer) -> Iterator[Callable[[int], None]]:
    """Wrap the step's collaborators with ``timer``; yields the timed ``step`` function.

    Patches instance attributes of this run's objects, and for the duration of the block
    ``Tensor.backward``, ``Adam.step`` and the cutout/augmentation functions ``views`` calls.
    """
    optimiser = run.optimiser
    semantic = run.prompts
    model = run.model
    perceptors = perceptors_of(run)
    with contextlib.ExitStack() as stack:
        patches = [
            (model, "decode_training", timer.wrap("decode", model.decode_training)),
            (model, "after_step", timer.wrap("optimiser", model.after_step)),
            (model, "regularizers", timer.wrap("losses", model.regularizers)),
            (optimiser, "image_losses", timer.wrap("losses", optimiser.image_losses)),
            (optimiser, "prompt_losses", timer.wrap("losses", optimiser.prompt_losses)),
            (views, "apply_cutouts", timer.wrap("cutouts+aug", views.apply_cutouts)),
            (views, "apply_warp", timer.wrap("cutouts+aug", views.apply_warp)),
            (views, "apply_pixel_augmentations", timer.wrap("cutouts+aug", views.apply_pixel_augmentations)),
            (torch.Tensor, "backward", timer.wrap("backward", torch.Tensor.backward)),
            (torch.optim.Adam, "step", timer.wrap("optimiser", torch.optim.Adam.step)),
        ]
        if semantic is not None:
            patches.append((semantic, "micro_batches", timer.wrap("cutouts+aug", semantic.micro_batches)))
        patches += [(p, "encode_image", timer.wrap("perceptor fwd", p.encode_image)) for p in perceptors]
        for owner, name, replacement in patches:
            stack.enter_context(_patched(owner, name, replacement))
        yield timer.wrap("other", run.loop.step)
