"""Where a global step falls: scene, step within the scene, time ``t``, animation frame, scene blend.

Formulas from pytti-core (animation-losses-outputs.md §1, prompts-and-perceptors.md §5):
``t = (i − P) / (S · fps)``; a frame boundary is ``i ≥ P`` and ``(i − P) mod S = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneBlend:
    """Which scenes judge a step: ``scene`` at weight ``tau``, and ``previous`` (if any) on its way out.

    ``previous`` is None outside transitions; then ``tau`` is 1.
    """

    scene: int
    previous: int | None = None
    tau: float = 1.0


@dataclass(frozen=True)
class Timeline:
    """The step schedule of a run: ``scenes × steps_per_scene`` steps in all."""

    scene_count: int
    steps_per_scene: int
    interpolation_steps: int
    pre_animation_steps: int
    steps_per_frame: int
    frames_per_second: float

    @property
    def total_steps(self) -> int:
        return self.scene_count * self.steps_per_scene

    @property
    def frame_count(self) -> int:
        """Animation frames that begin within the run (0 when it never leaves pre-animation)."""
        after = self.total_steps - self.pre_animation_steps
        return max(0, -(-after // self.steps_per_frame))

    def scene_of(self, step: int) -> tuple[int, int]:
        """(scene index, step within that scene) of a global step."""
        return divmod(step, self.steps_per_scene)

    def time_of(self, step: int) -> float:
        """pytti's ``t`` in seconds; negative during pre-animation."""
        return (step - self.pre_animation_steps) / (self.steps_per_frame * self.frames_per_second)

    def is_frame_boundary(self, step: int) -> bool:
        return step >= self.pre_animation_steps and (step - self.pre_animation_steps) % self.steps_per_frame == 0

    def frame_of(self, step: int) -> int:
        """Index of the animation frame a step belongs to (-1 during pre-animation)."""
        if step < self.pre_animation_steps:
            return -1
        return (step - self.pre_animation_steps) // self.steps_per_frame

    def blend_of(self, step: int) -> SceneBlend:
        """The scenes of a step: during the first ``interpolation_steps`` of a scene after the first, the
        new scene ramps in with τ = stage / interpolation_steps while the previous one fades out."""
        scene, stage = self.scene_of(step)
        if scene == 0 or stage >= self.interpolation_steps:
            return SceneBlend(scene)
        return SceneBlend(scene, scene - 1, stage / self.interpolation_steps)
