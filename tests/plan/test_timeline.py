"""pytti's step accounting: t, frame boundaries, scenes and the interpolation ramp."""

from __future__ import annotations

import pytest

from dreamloom.plan.timeline import SceneBlend, Timeline


def timeline(**changes) -> Timeline:
    values = dict(scene_count=2, steps_per_scene=100, interpolation_steps=20, pre_animation_steps=100,
                  steps_per_frame=50, frames_per_second=12)
    values.update(changes)
    return Timeline(**values)


def test_t_formula_matches_pytti_table():
    line = timeline()
    assert line.time_of(0) == pytest.approx(-100 / 600)
    assert line.time_of(99) == pytest.approx(-1 / 600)
    assert line.time_of(100) == 0.0
    assert line.time_of(150) == pytest.approx(1 / 12)


def test_frame_boundaries_and_frames():
    line = timeline()
    assert [i for i in range(0, 200) if line.is_frame_boundary(i)] == [100, 150]
    assert line.frame_of(99) == -1 and line.frame_of(100) == 0 and line.frame_of(149) == 0 and line.frame_of(150) == 1


@pytest.mark.parametrize(("pre", "per_frame", "total", "frames"),
                         [(100, 50, 200, 2), (0, 4, 12, 3), (3, 4, 12, 3), (5, 1, 8, 3), (12, 4, 12, 0), (20, 4, 12, 0)])
def test_frame_count_is_the_number_of_frame_boundaries(pre, per_frame, total, frames):
    line = timeline(scene_count=1, steps_per_scene=total, pre_animation_steps=pre, steps_per_frame=per_frame)
    assert line.frame_count == frames == sum(line.is_frame_boundary(i) for i in range(total))


def test_scenes_and_total():
    line = timeline()
    assert line.total_steps == 200
    assert line.scene_of(99) == (0, 99) and line.scene_of(100) == (1, 0)


def test_blend_ramps_in_the_new_scene_only():
    line = timeline()
    assert line.blend_of(5) == SceneBlend(0)  # the first scene has nothing to blend from
    assert line.blend_of(100) == SceneBlend(1, 0, 0.0)
    assert line.blend_of(110) == SceneBlend(1, 0, 0.5)
    assert line.blend_of(119) == SceneBlend(1, 0, 0.95)
    assert line.blend_of(120) == SceneBlend(1)
    assert timeline(interpolation_steps=0).blend_of(100) == SceneBlend(1)
