"""The 3D camera: depth → 3D points → moved camera → where each pixel of the new frame reads the old one.

Pinhole geometry in *view units* (one unit is half the output picture's height) with pytti's axes: x right,
y down the picture, z toward the viewer, points in front of the camera at ``z = −distance``. A pixel at view
position (x, y) and distance d is the point (x·d/f, y·d/f, −d), f = 1/tan(field_of_view/2) (vertical
field of view). Unlike pytti (animation-losses-outputs.md §3.4, §10.12) the points are scaled by depth, so
forward motion zooms by the pinhole factor d/(d − tz), and the rotation quaternion is normalised.

A frame's motion moves every point to ``R·(p + t)`` (pytti's order): ``translate_x > 0`` moves content right,
``translate_y > 0`` up, ``translate_z_3d > 0`` toward the viewer (the camera flies forward). The new frame
is the old one resampled: for each new pixel the old pixel whose content lands there, found by a few
fixed-point steps on the depth map (exact for a plane at constant depth).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from dreamloom.animation.resample import sample_at
from dreamloom.settings.choices import InfillMode, SamplingMode

#: Smallest distance a point may have in front of a camera (view units); nearer points are clamped to it,
#: so a camera flying through the scene gives stretched pixels, never NaN.
MIN_DISTANCE = 1e-6
#: Fixed-point steps that find, for each new pixel, the old pixel that lands on it.
INVERSE_STEPS = 4


def rotation_matrix(quaternion: Sequence[float], *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The rotation of a quaternion ``[r, x, y, z]``, normalised first (so ``[2, 0, 0, 0]`` is the identity).

    Raises ValueError for a zero quaternion, which is no rotation.
    Shape: -> [3, 3]
    """
    norm = math.sqrt(sum(value * value for value in quaternion))
    if len(quaternion) != 4 or norm == 0:
        raise ValueError("a rotation quaternion needs four numbers [r, x, y, z], not all zero")
    w, x, y, z = (value / norm for value in quaternion)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return torch.tensor(rows, dtype=dtype, device=device)


@dataclasses.dataclass(frozen=True)
class CameraMotion:
    """One frame's camera motion in view units: points move to ``rotation·(p + translation)``."""

    rotation: torch.Tensor
    translation: torch.Tensor
    focal: float

    @classmethod
    def from_settings(
        cls,
        translate: tuple[float, float, float],
        quaternion: Sequence[float],
        *,
        field_of_view: float,
        output_height: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> CameraMotion:
        """pytti's per-frame increments: ``translate`` = (translate_x, translate_y, translate_z_3d) in output
        pixels, ``quaternion`` = rotate_3d, ``field_of_view`` in degrees (vertical)."""
        unit = 2 / output_height
        tx, ty, tz = translate
        translation = torch.tensor((tx * unit, -ty * unit, tz * unit), dtype=dtype, device=device)
        rotation = rotation_matrix(quaternion, dtype=dtype, device=torch.device(device))
        return cls(rotation, translation, 1 / math.tan(math.radians(field_of_view) / 2))


def view_grid(height: int, width: int, *, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """View position (x, y) of every pixel centre of a ``height`` × ``width`` picture.

    Shape: -> [H, W, 2]
    """
    half = height / 2
    ys = (torch.arange(height, dtype=dtype, device=device) + 0.5 - half) / half
    xs = (torch.arange(width, dtype=dtype, device=device) + 0.5 - width / 2) / half
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1)


def pixels_of_view(view: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coordinates (pixel centres at integers) of view positions in a ``height`` × ``width`` picture.

    Shape: [*, 2] -> [*, 2]
    """
    half = height / 2
    return torch.stack([view[..., 0] * half + width / 2 - 0.5, view[..., 1] * half + half - 0.5], dim=-1)


def unproject(view: torch.Tensor, distance: torch.Tensor, focal: float) -> torch.Tensor:
    """Camera-space points seen at ``view`` positions at ``distance``.

    Shape: view [*, 2], distance [*] -> [*, 3]
    """
    scale = distance / focal
    return torch.stack([view[..., 0] * scale, view[..., 1] * scale, -distance], dim=-1)


def project(points: torch.Tensor, focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """View positions and distances of camera-space points (distances clamped to :data:`MIN_DISTANCE`).

    Shape: [*, 3] -> ([*, 2], [*])
    """
    distance = (-points[..., 2]).clamp_min(MIN_DISTANCE)
    return points[..., :2] * (focal / distance)[..., None], distance


def move_points(points: torch.Tensor, motion: CameraMotion) -> torch.Tensor:
    """``rotation·(p + translation)``. Shape: [*, 3] -> [*, 3]"""
    return (points + motion.translation) @ motion.rotation.T


def unmove_points(points: torch.Tensor, motion: CameraMotion) -> torch.Tensor:
    """The inverse of :func:`move_points`. Shape: [*, 3] -> [*, 3]"""
    return points @ motion.rotation - motion.translation


def sample_depth(depth: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
    """The depth map read (bilinear, edges smeared) at view positions.

    Shape: depth [N, 1, H, W], view [N, h, w, 2] -> [N, h, w]
    """
    height, width = depth.shape[-2:]
    points = pixels_of_view(view, height, width)
    return sample_at(depth, points, SamplingMode.BILINEAR, InfillMode.SMEAR)[:, 0]


@dataclasses.dataclass(frozen=True)
class Reprojection:
    """What one frame's camera motion does to a picture of the depth map's size.

    ``source``: where each new pixel reads the old picture (view units); ``distance``: the new distance of
    what each new pixel shows (view units), i.e. the old depth warped; ``flow``: where the content of each
    old pixel moves, in view units (pytti's returned flow, ``lock_camera`` applied).
    Shapes: source [N, H, W, 2], distance [N, 1, H, W], flow [N, H, W, 2]
    """

    source: torch.Tensor
    distance: torch.Tensor
    flow: torch.Tensor


def reproject(depth: torch.Tensor, motion: CameraMotion, *, lock_camera: bool) -> Reprojection:
    """Move the camera over a picture whose pixels lie at ``depth`` (view units).

    ``lock_camera`` removes the mean of the motion (pytti's lock), leaving parallax.
    Shape: depth [N, 1, H, W]
    """
    batch, _, height, width = depth.shape
    grid = view_grid(height, width, dtype=depth.dtype, device=depth.device).expand(batch, height, width, 2)
    old_points = unproject(grid, depth[:, 0], motion.focal)
    landed, _ = project(move_points(old_points, motion), motion.focal)
    flow = landed - grid
    shift = flow.mean(dim=(1, 2), keepdim=True) if lock_camera else torch.zeros_like(flow[:, :1, :1])
    target = grid + shift
    source = target
    for _ in range(INVERSE_STEPS):
        moved = move_points(unproject(source, sample_depth(depth, source), motion.focal), motion)
        distance = (-moved[..., 2]).clamp_min(MIN_DISTANCE)
        source, _ = project(unmove_points(unproject(target, distance, motion.focal), motion), motion.focal)
    moved = move_points(unproject(source, sample_depth(depth, source), motion.focal), motion)
    distance = (-moved[..., 2]).clamp_min(MIN_DISTANCE)
    return Reprojection(source, distance[:, None], flow - shift)


@dataclasses.dataclass(frozen=True)
class Warp3D:
    """One frame's camera motion as a picture-space warp (what :meth:`ImageModel.warp_state` takes).

    ``depth`` is in view units at any size; each image model's tensor is warped at its own size (the
    depth map resized to it), so motion is in output pixels for every image model, as in pytti's 3D mode.
    """

    depth: torch.Tensor
    motion: CameraMotion
    lock_camera: bool
    sampling: SamplingMode
    infill: InfillMode

    def reprojection(self, height: int, width: int) -> Reprojection:
        """The reprojection at a picture size."""
        depth = self.depth
        if depth.shape[-2:] != (height, width):
            depth = F.interpolate(depth, size=(height, width), mode="bilinear", align_corners=False)
        return reproject(depth, self.motion, lock_camera=self.lock_camera)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Shape: [N, C, H, W] -> [N, C, H, W]"""
        height, width = image.shape[-2:]
        source = self.reprojection(height, width).source.to(image.dtype)
        points = pixels_of_view(source, height, width).expand(image.shape[0], height, width, 2)
        return sample_at(image, points, self.sampling, self.infill)
