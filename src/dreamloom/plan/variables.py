"""The values expressions read at a step: ``t`` from the timeline plus values set once per frame.

Per-frame values (audio bands, their ``_prev`` and ``_onset``, and ``beat``; 3D's ``r``, ``R`` and ``mu``) are
written by frame hooks through :meth:`StepVariables.set_frame_values` (or ``update_frame_values``); they stay
in force until the next frame sets them again, and they travel in backups so a resumed run reads the same
values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dreamloom.plan.timeline import Timeline

BEAT = "beat"
"""The one audio variable that is not per band: 1 on frames with a beat, decaying after."""


def audio_variable_names(bands: Sequence[str]) -> tuple[str, ...]:
    """The expression variables that audio filters named ``bands`` bring, in the order tables list them:
    each band, its ``_prev`` and its ``_onset``, then ``beat`` (none without bands)."""
    names = tuple(name for band in bands for name in (band, f"{band}_prev", f"{band}_onset"))
    return (*names, BEAT) if names else ()


class StepVariables:
    """The expression environment of each step of a run."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._frame_values: dict[str, float] = {}

    def at(self, step: int) -> dict[str, float]:
        """The variables at global step ``step``: ``t`` and the current per-frame values."""
        return {**self._frame_values, "t": self.timeline.time_of(step)}

    def set_frame_values(self, values: Mapping[str, float]) -> None:
        """Replace the per-frame values (called by the frame hook that owns them)."""
        self._frame_values = dict(values)

    def update_frame_values(self, values: Mapping[str, float]) -> None:
        """Add or change some per-frame values, keeping the others (a hook that adds its own, e.g. 3D's depth)."""
        self._frame_values.update(values)

    def state(self) -> dict[str, float]:
        return dict(self._frame_values)

    def load_state(self, state: Mapping[str, float]) -> None:
        self._frame_values = {name: float(value) for name, value in state.items()}
