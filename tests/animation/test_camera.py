"""The 3D camera on synthetic scenes of known depth: pinhole zoom, parallax, rotation, lock_camera, quaternions
(animation-losses-outputs.md §3.4, corrected as docs/coming-from-pytti.md says)."""

from __future__ import annotations

import math

import pytest
import torch

from dreamloom.animation.camera import (
    CameraMotion,
    Warp3D,
    reproject,
    rotation_matrix,
    view_grid,
)
from dreamloom.settings.choices import InfillMode, SamplingMode

H, W = 24, 32
FOV = 60.0
#: Focal length in output pixels for a vertical field of view of 60°: (H/2)/tan(30°).
F_PX = (H / 2) / math.tan(math.radians(FOV / 2))


def motion(translate=(0.0, 0.0, 0.0), quaternion=(1.0, 0.0, 0.0, 0.0)) -> CameraMotion:
    return CameraMotion.from_settings(translate, quaternion, field_of_view=FOV, output_height=H, dtype=torch.float64)


def plane(depth_px: float) -> torch.Tensor:
    """A plane facing the camera, ``depth_px`` output pixels away, in view units. Shape: [1, 1, H, W]"""
    return torch.full((1, 1, H, W), depth_px * 2 / H, dtype=torch.float64)


def tilted(near_px: float, far_px: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A floor: depth grows linearly from the top row to the bottom row. Returns (view units, pixels per row)."""
    rows = torch.linspace(near_px, far_px, H, dtype=torch.float64)
    return (rows[:, None].expand(H, W) * 2 / H)[None, None].clone(), rows


def source_pixels(depth: torch.Tensor, move: CameraMotion, lock: bool = False) -> torch.Tensor:
    """Where each new pixel reads the old picture, in pixels relative to the picture's centre. [H, W, 2]"""
    return reproject(depth, move, lock_camera=lock).source[0] * (H / 2)


def centred_pixels() -> torch.Tensor:
    return view_grid(H, W, dtype=torch.float64, device=torch.device("cpu")) * (H / 2)


def ramp(slope_x: float, slope_y: float) -> torch.Tensor:
    """``slope_x·x + slope_y·y`` at each pixel centre (pixel units from the centre). Shape: [1, 1, H, W]"""
    grid = centred_pixels()
    return (slope_x * grid[..., 0] + slope_y * grid[..., 1])[None, None]


@pytest.mark.parametrize(("depth_px", "forward"), [(200.0, 10.0), (50.0, 20.0), (300.0, -30.0)])
def test_forward_motion_zooms_a_plane_by_the_pinhole_factor(depth_px: float, forward: float) -> None:
    """A plane D pixels away seen from D − tz pixels is magnified by D / (D − tz) about the centre."""
    magnification = depth_px / (depth_px - forward)
    reprojection = reproject(plane(depth_px), motion((0, 0, forward)), lock_camera=False)
    torch.testing.assert_close(reprojection.source[0] * (H / 2), centred_pixels() / magnification)
    torch.testing.assert_close(reprojection.distance, plane(depth_px - forward))


def test_the_warped_picture_is_the_zoomed_picture() -> None:
    """Bilinear sampling is exact on a linear ramp, so the warped ramp is the ramp scaled by 1/magnification."""
    warp = Warp3D(plane(120.0), motion((0, 0, 30.0)), False, SamplingMode.BILINEAR, InfillMode.SMEAR)
    torch.testing.assert_close(warp(ramp(0.5, -0.25)), ramp(0.5, -0.25) * (90.0 / 120.0))


def test_sideways_motion_shifts_each_row_of_a_floor_in_inverse_proportion_to_its_depth() -> None:
    depth, rows = tilted(100.0, 400.0)
    shift = centred_pixels()[..., 0] - source_pixels(depth, motion((5.0, 0, 0)))[..., 0]
    torch.testing.assert_close(shift, (5.0 * F_PX / rows)[:, None].expand(H, W))
    lifted = reproject(depth, motion((0, 3.0, 0)), lock_camera=False).flow[0, ..., 1] * (H / 2)
    torch.testing.assert_close(lifted, (-3.0 * F_PX / rows)[:, None].expand(H, W))  # translate_y > 0: content up


def test_sideways_motion_of_a_plane_moves_the_picture_right_by_the_pinhole_shift() -> None:
    warp = Warp3D(plane(80.0), motion((4.0, 0, 0)), False, SamplingMode.BILINEAR, InfillMode.SMEAR)
    shift = 4.0 * F_PX / 80.0
    torch.testing.assert_close(warp(ramp(1.0, 0.0))[..., 8:], ramp(1.0, 0.0)[..., 8:] - shift)


@pytest.mark.parametrize("degrees", [30.0, -45.0, 90.0])
def test_a_rotation_about_the_view_axis_turns_the_picture_by_its_angle(degrees: float) -> None:
    theta = math.radians(degrees)
    quaternion = (math.cos(theta / 2), 0.0, 0.0, math.sin(theta / 2))
    source = source_pixels(plane(150.0), motion(quaternion=quaternion))
    target = centred_pixels()
    cos, sin = math.cos(theta), math.sin(theta)  # new pixel p shows the old content at R(−θ)·p
    expected = torch.stack([cos * target[..., 0] + sin * target[..., 1], -sin * target[..., 0] + cos * target[..., 1]], -1)
    torch.testing.assert_close(source, expected)


def test_a_quarter_turn_with_nearest_sampling_is_exactly_a_clockwise_rot90() -> None:
    picture = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    quarter = (math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4))
    move = CameraMotion.from_settings((0, 0, 0), quarter, field_of_view=FOV, output_height=16, dtype=torch.float64)
    depth = torch.full((1, 1, 16, 16), 1.5, dtype=torch.float64)
    turned = Warp3D(depth, move, True, SamplingMode.NEAREST, InfillMode.BLACK)(picture)
    assert torch.equal(turned, torch.rot90(picture, k=-1, dims=(-2, -1)))


def test_a_normalised_and_an_unnormalised_quaternion_move_the_camera_alike() -> None:
    depth, _ = tilted(60.0, 500.0)
    unit = (0.9, 0.1, -0.2, 0.3)
    norm = math.sqrt(sum(value * value for value in unit))
    normalised = tuple(value / norm for value in unit)
    scaled = tuple(3.5 * value for value in unit)
    first = source_pixels(depth, motion((1.0, 2.0, 3.0), normalised))
    torch.testing.assert_close(source_pixels(depth, motion((1.0, 2.0, 3.0), scaled)), first)
    torch.testing.assert_close(source_pixels(depth, motion((1.0, 2.0, 3.0), unit)), first)


def test_rotation_matrices_are_rotations_and_a_zero_quaternion_is_refused() -> None:
    matrix = rotation_matrix((2.0, -1.0, 0.5, 3.0), dtype=torch.float64, device=torch.device("cpu"))
    torch.testing.assert_close(matrix @ matrix.T, torch.eye(3, dtype=torch.float64))
    assert torch.linalg.det(matrix).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not all zero"):
        rotation_matrix((0.0, 0.0, 0.0, 0.0), dtype=torch.float64, device=torch.device("cpu"))


def test_lock_camera_removes_the_mean_motion() -> None:
    """A sideways move of a plane is a uniform shift, which the lock removes entirely; on a floor only the
    parallax stays: the locked flow is the unlocked flow less its mean."""
    locked = reproject(plane(80.0), motion((6.0, -2.0, 0)), lock_camera=True)
    torch.testing.assert_close(locked.source[0] * (H / 2), centred_pixels())
    depth, _ = tilted(100.0, 400.0)
    free = reproject(depth, motion((6.0, -2.0, 4.0)), lock_camera=False).flow
    held = reproject(depth, motion((6.0, -2.0, 4.0)), lock_camera=True).flow
    torch.testing.assert_close(held, free - free.mean(dim=(1, 2), keepdim=True))
    torch.testing.assert_close(held.mean(dim=(1, 2)), torch.zeros(1, 2, dtype=torch.float64))


def test_the_flow_is_where_each_old_pixels_content_moves() -> None:
    """The forward flow of a zoom points away from the centre by (magnification − 1) × the position."""
    flow = reproject(plane(100.0), motion((0, 0, 20.0)), lock_camera=False).flow[0] * (H / 2)
    torch.testing.assert_close(flow, centred_pixels() * (100.0 / 80.0 - 1))


@pytest.mark.parametrize("infill", list(InfillMode))
def test_zero_motion_is_the_identity(infill: InfillMode) -> None:
    depth, _ = tilted(1.0, 900.0)
    picture = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    still = Warp3D(depth, motion(), True, SamplingMode.BICUBIC, infill)(picture)
    torch.testing.assert_close(still, picture, rtol=0, atol=1e-12)


def test_flying_through_the_nearest_point_stays_finite() -> None:
    depth, _ = tilted(10.0, 400.0)
    reprojection = reproject(depth, motion((0, 0, 50.0)), lock_camera=True)
    assert torch.isfinite(reprojection.source).all() and torch.isfinite(reprojection.flow).all()
    assert (reprojection.distance > 0).all()
