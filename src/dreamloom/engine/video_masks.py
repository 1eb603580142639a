"""Video masks in an animation: at each frame boundary every mask video moves to the frame that output frame
targets.

pytti (animation-losses-outputs §1.2 step 6.2, §5): at frame ``k`` every video mask shows video frame
``(k + 1)·frame_stride``; before the first frame boundary it shows frame 0. dreamloom holds a video's last
frame once the animation outlasts it (pytti crashed), and inverts ``[-mask.mp4]`` for image losses too
(pytti did so for prompt masks only). With ``animation_mode: off`` no hook is made: masks keep frame 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from dreamloom.engine.frames import FrameHook, FrameStart, HookStage
from dreamloom.plan import StepVariables
from dreamloom.video_frames import VideoFrames

log = logging.getLogger(__name__)


class ShowsVideoFrame(Protocol):
    """A mask that follows a video: prompt masks (``perception.masks.VideoMask``) and :class:`VideoLossMask`."""

    def show(self, index: int) -> None:
        """Show frame ``index`` of the mask video (its last frame past the end)."""


class VideoLossMask:
    """The mask of an image loss (direct, edge) that follows a video.

    ``tensor`` is a buffer at the picture's size that :meth:`show` refills in place, so the loss functions
    built around it see each new frame. A frame of another size is resized bilinearly, as pytti resizes loss
    masks; ``inverted`` masks hold ``1 − frame``. It shows frame 0 from the start.
    Shape: tensor [1, 1, H, W] in [0, 1].
    """

    def __init__(self, frames: VideoFrames, *, inverted: bool, size: tuple[int, int], device: torch.device) -> None:
        self.frames = frames
        self.inverted = inverted
        self.tensor = torch.empty((1, 1, *size), device=device)
        self.show(0)
        height, width = size
        if frames.size != (width, height):
            log.warning("%s: the mask video %s is %d×%d, the picture %d×%d; its frames are resized to the picture.",
                        frames.where, frames.source, *frames.size, width, height)

    def show(self, index: int) -> None:
        frame = self.frames.frame(index)[None, None].to(self.tensor.device)
        if frame.shape[-2:] != self.tensor.shape[-2:]:
            frame = F.interpolate(frame, size=self.tensor.shape[-2:], mode="bilinear", align_corners=False)
        self.tensor.copy_(1 - frame if self.inverted else frame)


class VideoMasksHook(FrameHook):
    """Moves every video mask of a run to frame ``(k + 1)·frame_stride`` at animation frame ``k``."""

    name = "video_masks"
    stage = HookStage.VIDEO_MASKS

    def __init__(self, masks: Sequence[ShowsVideoFrame], frame_stride: int) -> None:
        self.masks = list(masks)
        self.frame_stride = frame_stride
        self.index = 0

    def on_frame(self, start: FrameStart, variables: StepVariables) -> None:
        self.show((start.frame + 1) * self.frame_stride)

    def show(self, index: int) -> None:
        """Show video frame ``index`` in every mask."""
        self.index = index
        for mask in self.masks:
            mask.show(index)

    def state(self) -> dict[str, Any]:
        return {"index": torch.tensor(self.index)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        if "index" in state:
            self.show(int(state["index"]))
