"""Optical flow between two pictures: torchvision RAFT and OpenCV DIS behind one interface, the
forward/backward consistency mask, and the warp of a picture along a flow field.

One convention everywhere: a flow is [N, 2, H, W] in pixels, channel 0 = x (to the right), channel 1 = y
(down), and ``flow = model(a, b)`` says where each pixel ``p`` of ``a`` went in ``b``:
``a(p) ≈ b(p + flow(p))``. Pictures are [N, 3, H, W] RGB in [0, 1].

pytti fed its GMA network [0, 1] pictures although GMA expects 0..255, and kept the ×8 padding in the flows
it returned (animation-losses-outputs §6.9, §10.1–2); here every model sees the input range it was trained
on and flows come back at the pictures' own size.
"""

from __future__ import annotations

import abc
import dataclasses
import os

import cv2
import kornia.filters
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.optical_flow import raft_large, raft_small

from dreamloom.animation.resample import sample_at
from dreamloom.animation.warp2d import pixel_grid
from dreamloom.errors import WeightsError
from dreamloom.models.checkpoints import read_state_dict
from dreamloom.models.install import ensure_entry
from dreamloom.models.registry import get_entry
from dreamloom.settings.choices import InfillMode, OpticalFlowModel, SamplingMode

#: RAFT's feature maps are 1/8 of the picture, so its inputs are padded to multiples of 8.
ALIGNMENT = 8
#: RAFT's correlation pyramid needs feature maps of at least 16 × 16, i.e. pictures of at least 128 px.
RAFT_MIN_SIZE = 128
#: pytti's cut test: a cut is declared when fewer than 3 % of the pixels are consistent.
CUT_THRESHOLD = 0.03

_RAFT_BUILDERS = {OpticalFlowModel.RAFT_LARGE: raft_large, OpticalFlowModel.RAFT_SMALL: raft_small}


def pad_to_multiple(pictures: torch.Tensor, multiple: int = ALIGNMENT) -> torch.Tensor:
    """Pad the right and bottom edges (repeating the edge pixels) up to multiples of ``multiple``, so that
    cropping the result's top-left corner gives back pixel-aligned values.

    Shape: [N, C, H, W] -> [N, C, ⌈H/m⌉·m, ⌈W/m⌉·m]
    """
    height, width = pictures.shape[-2:]
    bottom, right = -height % multiple, -width % multiple
    if not bottom and not right:
        return pictures
    return F.pad(pictures, (0, right, 0, bottom), mode="replicate")


class FlowModel(nn.Module, abc.ABC):
    """An optical-flow estimator: ``model(a, b)`` is the flow from ``a`` to ``b`` (module docstring).

    ``differentiable`` says whether gradients reach ``a`` and ``b`` through the flow (RAFT yes, DIS no).
    Subclasses implement :meth:`estimate` on pictures padded to multiples of 8.

    Shape: a, b [N, 3, H, W] in [0, 1] -> [N, 2, H, W] in pixels
    """

    differentiable: bool

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.shape != b.shape or a.dim() != 4 or a.shape[1] != 3:
            raise ValueError(f"flow needs two [N, 3, H, W] pictures of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
        height, width = a.shape[-2:]
        flow = self.estimate(pad_to_multiple(a), pad_to_multiple(b))
        return flow[..., :height, :width]

    @abc.abstractmethod
    def estimate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The flow between two padded pictures. Shape: [N, 3, 8i, 8j] (twice) -> [N, 2, 8i, 8j]"""


class RaftFlow(FlowModel):
    """torchvision's RAFT (Teed & Deng 2020), frozen; its inputs mapped from [0, 1] to the [−1, 1] it was
    trained on. Differentiable in the pictures; ``iterations`` is RAFT's number of flow updates. Pictures
    smaller than RAFT's correlation pyramid allows (128 px) are padded up to it, then cropped back."""

    differentiable = True

    def __init__(self, network: nn.Module, iterations: int = 12) -> None:
        super().__init__()
        self.network = network.eval().requires_grad_(False)
        self.iterations = iterations

    def estimate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        height, width = a.shape[-2:]
        bottom, right = max(0, RAFT_MIN_SIZE - height), max(0, RAFT_MIN_SIZE - width)
        a, b = (F.pad(picture, (0, right, 0, bottom), mode="replicate") for picture in (a, b))
        flow = self.network(2 * a - 1, 2 * b - 1, num_flow_updates=self.iterations)[-1]
        return flow[..., :height, :width]


class DisFlow(FlowModel):
    """OpenCV's Dense Inverse Search flow (Kroeger et al. 2016) on the pictures' luma: no weights, fast on a
    CPU, not differentiable. ``preset`` is one of OpenCV's ``DISOPTICAL_FLOW_PRESET_*``."""

    differentiable = False

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> None:
        super().__init__()
        self.preset = preset

    @torch.no_grad()
    def estimate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        dis = cv2.DISOpticalFlow_create(self.preset)
        flows = [dis.calc(_luma_u8(first), _luma_u8(second), None) for first, second in zip(a, b, strict=True)]
        return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).to(device=a.device, dtype=a.dtype)


def _luma_u8(picture: torch.Tensor) -> np.ndarray:
    """8-bit Rec. 601 luma of one picture, the grey image DIS reads. Shape: [3, H, W] -> [H, W]"""
    weights = picture.new_tensor([0.299, 0.587, 0.114])[:, None, None]
    luma = (picture.float() * weights).sum(0).clamp(0, 1).mul(255).round()
    return np.ascontiguousarray(luma.to(torch.uint8).cpu().numpy())


def raft_network(choice: OpticalFlowModel) -> nn.Module:
    """The RAFT architecture of ``choice`` with random weights (what checkpoints are loaded into)."""
    return _RAFT_BUILDERS[choice](weights=None, progress=False)


def load_flow_model(
    choice: OpticalFlowModel,
    models_parent_dir: str | os.PathLike[str] | None = None,
    *,
    device: torch.device,
    allow_download: bool = True,
    progress: bool = True,
    iterations: int = 12,
) -> FlowModel:
    """The flow model an ``optical_flow_model`` value names, ready on ``device``.

    RAFT weights come from the registry entry of the same name (downloaded into the cache if allowed; a
    missing file offline is one :class:`WeightsError` that names ``dreamloom models download <name>``).
    """
    if choice is OpticalFlowModel.DIS:
        return DisFlow()
    path = ensure_entry(get_entry(choice.value), models_parent_dir, allow_download=allow_download, progress=progress)
    network = raft_network(choice)
    try:
        network.load_state_dict(read_state_dict(path), strict=True)
    except RuntimeError as failure:
        raise WeightsError(
            f"optical_flow_model: {path} does not fit {choice.value} ({str(failure).splitlines()[0]}); "
            f"delete it and run `dreamloom models download {choice.value}`"
        ) from None
    return RaftFlow(network.to(device), iterations=iterations)


def _positions(flow: torch.Tensor) -> torch.Tensor:
    """Where each pixel lands: pixel centre + flow. Shape: [N, 2, H, W] -> [N, H, W, 2] (x, y)"""
    height, width = flow.shape[-2:]
    grid = pixel_grid(height, width, dtype=flow.dtype, device=flow.device)[..., :2]
    return grid + flow.permute(0, 2, 3, 1)


def _squared(vectors: torch.Tensor) -> torch.Tensor:
    return (vectors * vectors).sum(1, keepdim=True)


def _central_differences(flow: torch.Tensor) -> torch.Tensor:
    """Σ over both flow components of (∂/∂x)² + (∂/∂y)², central differences, the edge pixels repeated
    outside the picture (pytti's zero padding made the whole border a motion boundary).

    Shape: [N, 2, H, W] -> [N, 1, H, W]
    """
    padded = F.pad(flow, (1, 1, 1, 1), mode="replicate")
    dx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) / 2
    dy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) / 2
    return _squared(dx) + _squared(dy)


@torch.no_grad()
def consistency_mask(flow: torch.Tensor, reverse: torch.Tensor) -> torch.Tensor:
    """Which pixels of ``flow``'s source picture ``flow`` follows reliably (Ruder et al. 2016's checker).

    ``flow`` goes from picture X to Y, ``reverse`` from Y to X. A pixel is unreliable where going there and
    back misses it (``|flow + reverse(p + flow)|² ≥ 0.01·(|flow|² + |reverse|²) + 0.5``, an occlusion), where
    it lands outside Y, or on a motion boundary (``|∇flow|² ≥ 0.01·|flow|² + 0.002``). As pytti: occlusions
    count −1, boundaries and exits 0, reliable pixels 1, then a 3×3 Gaussian blur (σ 0.8) clipped to [0, 1].
    Unlike pytti, the boundary test uses each component's own gradient, as Ruder et al. do, and the
    picture's border is not a boundary.

    Shape: flow, reverse [N, 2, H, W] -> [N, 1, H, W] in [0, 1]
    """
    height, width = flow.shape[-2:]
    landed = _positions(flow)
    back = sample_at(reverse, landed, SamplingMode.BILINEAR, InfillMode.BLACK)
    missed = _squared(flow + back) >= 0.01 * (_squared(flow) + _squared(back)) + 0.5
    boundary = _central_differences(flow) >= 0.01 * _squared(flow) + 0.002
    x, y = landed[..., 0], landed[..., 1]
    outside = ((x < 0) | (x > width - 1) | (y < 0) | (y > height - 1))[:, None]
    reliable = torch.ones_like(missed, dtype=flow.dtype)
    reliable = reliable.masked_fill(boundary, 0).masked_fill(missed, -1).masked_fill(outside, 0)
    blurred = kornia.filters.gaussian_blur2d(reliable, (3, 3), (0.8, 0.8), border_type="reflect")
    return blurred.clamp(0, 1)


def is_cut(mask: torch.Tensor, threshold: float = CUT_THRESHOLD) -> bool:
    """pytti's cut test: the mean of a consistency mask below ``threshold`` (3 % reliable pixels)."""
    return float(mask.mean()) < threshold


def flow_warp(image: torch.Tensor, flow: torch.Tensor, sampling: SamplingMode, infill: InfillMode) -> torch.Tensor:
    """Resample ``image`` so that pixel ``p`` shows the old picture at ``p + flow(p)``.

    To move picture A into the geometry of picture B, pass the flow from B to A. A flow of another size
    than ``image`` (an image model's internal grid, a latent) is resized bilinearly and its vectors
    rescaled to ``image``'s pixels. Differentiable in the image (and, bilinear or bicubic, in the flow).

    Shape: image [N, C, h, w], flow [N, 2, H, W] -> [N, C, h, w]
    """
    height, width = image.shape[-2:]
    if flow.shape[-2:] != (height, width):
        scale = flow.new_tensor([width / flow.shape[-1], height / flow.shape[-2]])[:, None, None]
        flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False) * scale
    return sample_at(image, _positions(flow.to(image.dtype)), sampling, infill)


@dataclasses.dataclass(frozen=True)
class FlowWarp:
    """A flow field as a picture-space warp (what :meth:`ImageModel.warp_state` takes), at any resolution.

    ``flow`` goes from the new frame to the old one (see :func:`flow_warp`).
    """

    flow: torch.Tensor
    sampling: SamplingMode
    infill: InfillMode

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Shape: [N, C, H, W] -> [N, C, H, W]"""
        return flow_warp(image, self.flow.to(image.device), self.sampling, self.infill)
