"""Synthetic scenes (flat colours, shapes, two-colour splits, noise) that the demo perceptor learns from.

The demo perceptor is trained and tested on these: every picture is drawn from a :class:`Scene` (a few
named facts plus the exact geometry), so the facts of any square window of it (a cutout) can be worked out
exactly and matched against the constraints of any caption. Randomness comes from a seeded
``numpy.random.Generator``; rendering is a pure function of the scene.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
import torch

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.95, 0.05, 0.05),
    "green": (0.05, 0.75, 0.1),
    "blue": (0.05, 0.15, 0.95),
    "yellow": (0.95, 0.9, 0.05),
    "cyan": (0.05, 0.9, 0.95),
    "magenta": (0.95, 0.05, 0.9),
    "orange": (1.0, 0.55, 0.0),
    "purple": (0.5, 0.1, 0.7),
    "white": (0.97, 0.97, 0.97),
    "black": (0.03, 0.03, 0.03),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "stripes")
POSITIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "centre")

_ANCHORS = {"left": (0.27, 0.5), "right": (0.73, 0.5), "top": (0.5, 0.27), "bottom": (0.5, 0.73), "centre": (0.5, 0.5)}
POSITION_PHRASES = {
    "left": ("on the left", "at the left"),
    "right": ("on the right", "at the right"),
    "top": ("at the top", "on the top"),
    "bottom": ("at the bottom", "on the bottom"),
    "centre": ("in the centre", "in the center", "in the middle"),
}
_COLOUR_JITTER = 0.07
_KIND_WEIGHTS = {"shape": 0.6, "flat": 0.15, "split": 0.2, "noise": 0.05}


class SceneKind(enum.Enum):
    """What a picture shows as a whole."""

    FLAT = "flat"
    SHAPE = "shape"
    SPLIT = "split"
    NOISE = "noise"


@dataclass(frozen=True)
class Scene:
    """One picture: its named facts and the exact geometry and colours needed to draw it.

    Coordinates are fractions of the picture, x to the right and y downwards. A split's ``first`` colour
    is on the left (axis "x") or top (axis "y") of ``boundary``.
    """

    kind: SceneKind
    background: str | None = None
    colour: str | None = None
    shape: str | None = None
    position: str | None = None
    centre: tuple[float, float] = (0.5, 0.5)
    radius: float = 0.0
    rotation: float = 0.0
    axis: str = "x"
    boundary: float = 0.5
    first: str | None = None
    second: str | None = None
    rgb: tuple[tuple[float, float, float], ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class ViewFacts:
    """What a window of a scene shows: definite facts, and names of facts that are unclear there."""

    facts: frozenset[tuple[str, str]]
    unclear: frozenset[str] = frozenset()


def jittered_rgb(name: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """A named colour moved by a little uniform noise per channel, so the model learns a colour region."""
    base = np.asarray(COLOURS[name])
    moved = np.clip(base + rng.uniform(-_COLOUR_JITTER, _COLOUR_JITTER, 3), 0.0, 1.0)
    return tuple(float(v) for v in moved)


def _two_colours(rng: np.random.Generator) -> tuple[str, str]:
    names = list(COLOURS)
    first, second = rng.choice(len(names), size=2, replace=False)
    return names[first], names[second]


def sample_scene(rng: np.random.Generator, kind: SceneKind | None = None) -> Scene:
    """Draw a random scene (of ``kind`` when given) with jittered colours and geometry."""
    if kind is None:
        kind = SceneKind(rng.choice(list(_KIND_WEIGHTS), p=list(_KIND_WEIGHTS.values())))
    seed = int(rng.integers(2**31))
    if kind is SceneKind.FLAT:
        name = list(COLOURS)[rng.integers(len(COLOURS))]
        return Scene(kind, background=name, rgb=(jittered_rgb(name, rng),), seed=seed)
    if kind is SceneKind.NOISE:
        return Scene(kind, seed=seed)
    first, second = _two_colours(rng)
    rgb = (jittered_rgb(first, rng), jittered_rgb(second, rng))
    if kind is SceneKind.SPLIT:
        axis = "x" if rng.random() < 0.5 else "y"
        boundary = float(rng.uniform(0.42, 0.58))
        return Scene(kind, axis=axis, boundary=boundary, first=first, second=second, rgb=rgb, seed=seed)
    position = POSITIONS[rng.integers(len(POSITIONS))]
    ax, ay = _ANCHORS[position]
    centre = (ax + float(rng.uniform(-0.05, 0.05)), ay + float(rng.uniform(-0.05, 0.05)))
    return Scene(
        kind,
        background=second,
        colour=first,
        shape=SHAPES[rng.integers(len(SHAPES))],
        position=position,
        centre=centre,
        radius=float(rng.uniform(0.16, 0.24)),
        rotation=float(rng.uniform(-0.35, 0.35)),
        rgb=(rgb[0], rgb[1]),
        seed=seed,
    )


# ---------------------------------------------------------------------------------------------- drawing


def _shape_frame(scene: Scene, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates relative to the shape centre, rotated into the shape's own frame.

    Shape: two [size, size] tensors (u to the right, v downwards), in picture fractions.
    """
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    y, x = torch.meshgrid(axis - scene.centre[1], axis - scene.centre[0], indexing="ij")
    c, s = math.cos(scene.rotation), math.sin(scene.rotation)
    return c * x + s * y, -s * x + c * y


def _convex_inside(u: torch.Tensor, v: torch.Tensor, corners: list[tuple[float, float]]) -> torch.Tensor:
    """Signed distance inside a convex polygon (positive inside), from its counter-clockwise-on-screen corners.

    Shape: [H, W] like ``u``.
    """
    inside = None
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
        ex, ey = x1 - x0, y1 - y0
        length = math.hypot(ex, ey)
        dist = ((u - x0) * ey - (v - y0) * ex) / length
        inside = -dist if inside is None else torch.minimum(inside, -dist)
    return inside


def _regular(count: int, radius: float, phase: float) -> list[tuple[float, float]]:
    """Corners of a regular polygon, clockwise on screen (y down), first corner pointing up."""
    return [
        (radius * math.sin(phase + 2 * math.pi * k / count), -radius * math.cos(phase + 2 * math.pi * k / count))
        for k in range(count)
    ]


def _shape_inside(scene: Scene, size: int) -> torch.Tensor:
    """Signed distance (picture fractions) inside the scene's shape; positive inside. Shape: [size, size]."""
    u, v = _shape_frame(scene, size)
    r = scene.radius
    if scene.shape == "circle":
        return r - torch.sqrt(u * u + v * v)
    if scene.shape in ("square", "stripes"):
        return 0.85 * r - torch.maximum(u.abs(), v.abs())
    if scene.shape == "triangle":
        return _convex_inside(u, v + 0.2 * r, _regular(3, 1.25 * r, 0.0))
    outer, inner = _regular(5, 1.3 * r, 0.0), _regular(5, 0.5 * r, math.pi / 5)
    inside = _convex_inside(u, v, inner)
    for k in range(5):
        arm = [outer[k], inner[k], inner[k - 1]]
        inside = torch.maximum(inside, _convex_inside(u, v, arm))
    return inside


def _stripe_inside(scene: Scene, size: int) -> torch.Tensor:
    """Signed distance inside the coloured bands of a stripe patch. Shape: [size, size]."""
    u, v = _shape_frame(scene, size)
    period = 0.5 * scene.radius
    phase = (u * math.cos(scene.seed % 4 * math.pi / 4) + v * math.sin(scene.seed % 4 * math.pi / 4)) / period
    band = (0.25 - (phase - torch.floor(phase) - 0.5).abs()) * period
    return torch.minimum(band, _shape_inside(scene, size))


def _coverage(inside: torch.Tensor, size: int) -> torch.Tensor:
    """Anti-aliased coverage from a signed distance: a one-pixel linear ramp across the edge."""
    return (0.5 + inside * size).clamp(0.0, 1.0)


def render_scene(scene: Scene, size: int) -> torch.Tensor:
    """Draw a scene as a square picture in [0, 1].

    Shape: [3, size, size].
    """
    if scene.kind is SceneKind.NOISE:
        return _render_noise(scene.seed, size)
    colours = [torch.tensor(c, dtype=torch.float32).view(3, 1, 1) for c in scene.rgb]
    if scene.kind is SceneKind.FLAT:
        return colours[0].expand(3, size, size).clone()
    if scene.kind is SceneKind.SPLIT:
        axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
        along = axis.view(1, size) if scene.axis == "x" else axis.view(size, 1)
        cover = _coverage((scene.boundary - along).expand(size, size), size)
    else:
        inside = _stripe_inside(scene, size) if scene.shape == "stripes" else _shape_inside(scene, size)
        cover = _coverage(inside, size)
    return colours[1] + (colours[0] - colours[1]) * cover


def _render_noise(seed: int, size: int) -> torch.Tensor:
    """Uniform noise, either per pixel or blotchy (upsampled from a coarse grid). Shape: [3, size, size]."""
    g = torch.Generator().manual_seed(seed)
    coarse = int(torch.randint(2, 4, (1,), generator=g)) ** 2 if seed % 2 else size
    noise = torch.rand(1, 3, coarse, coarse, generator=g)
    return torch.nn.functional.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)[0]


# -------------------------------------------------------------------------------------------- view facts


def _position_of(dx: float, dy: float) -> str | None:
    """Name the position of an offset from the window centre, or None when it is in between."""
    if max(abs(dx), abs(dy)) < 0.1:
        return "centre"
    if abs(dx) > 1.6 * abs(dy) and abs(dx) > 0.15:
        return "left" if dx < 0 else "right"
    if abs(dy) > 1.6 * abs(dx) and abs(dy) > 0.15:
        return "top" if dy < 0 else "bottom"
    return None


def flat_view(colour: str) -> ViewFacts:
    """The facts of a flat field of one named colour."""
    return ViewFacts(frozenset({("kind", "flat"), ("background", colour)}))


def _split_facts(scene: Scene, x0: float, y0: float, side: float) -> ViewFacts | None:
    start = x0 if scene.axis == "x" else y0
    at = (scene.boundary - start) / side
    if at <= 0.0:
        return flat_view(scene.second)
    if at >= 1.0:
        return flat_view(scene.first)
    if not 0.2 <= at <= 0.8:
        return None
    near, far = ("left", "right") if scene.axis == "x" else ("top", "bottom")
    return ViewFacts(frozenset({("kind", "split"), (near, scene.first), (far, scene.second)}))


def _shape_facts(scene: Scene, x0: float, y0: float, side: float) -> ViewFacts:
    reach = 1.3 * scene.radius
    left, top = scene.centre[0] - reach, scene.centre[1] - reach
    overlap_x = max(0.0, min(left + 2 * reach, x0 + side) - max(left, x0))
    overlap_y = max(0.0, min(top + 2 * reach, y0 + side) - max(top, y0))
    visible = overlap_x * overlap_y / (2 * reach) ** 2
    if visible == 0.0:
        return flat_view(scene.background)
    if visible < 0.8:
        return ViewFacts(frozenset({("background", scene.background)}), frozenset({"kind", "colour", "shape", "position"}))
    facts = {("kind", "shape"), ("background", scene.background), ("colour", scene.colour), ("shape", scene.shape)}
    position = _position_of((scene.centre[0] - x0) / side - 0.5, (scene.centre[1] - y0) / side - 0.5)
    if position is None:
        return ViewFacts(frozenset(facts), frozenset({"position"}))
    return ViewFacts(frozenset(facts | {("position", position)}))


def view_facts(scene: Scene, window: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> ViewFacts | None:
    """The facts visible in a square window (x0, y0, side in picture fractions); None if too ambiguous."""
    x0, y0, side = window
    if scene.kind is SceneKind.NOISE:
        return ViewFacts(frozenset({("kind", "noise")}))
    if scene.kind is SceneKind.FLAT:
        return flat_view(scene.background)
    if scene.kind is SceneKind.SPLIT:
        return _split_facts(scene, x0, y0, side)
    return _shape_facts(scene, x0, y0, side)
