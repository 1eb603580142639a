"""Per-step loss history kept on the device without host synchronisation; read at save and display points."""

from __future__ import annotations

import math

import torch


class LossHistory:
    """A preallocated [steps, columns] buffer of raw losses; NaN where a loss was inactive.

    Recording a step is a device-side copy (no ``.item()``), so logging costs nothing per step; rows reach
    the host only when :meth:`rows` is called at save and display points.
    """

    def __init__(self, columns: list[str], total_steps: int, device: torch.device) -> None:
        self.columns = columns
        self.buffer = torch.full((total_steps, len(columns)), math.nan, device=device)

    def record(self, step: int, row: torch.Tensor) -> None:
        """Store one step's raw losses (a [columns] tensor, NaN for inactive losses) without a sync."""
        self.buffer[step].copy_(row.detach())

    def rows(self, start: int, end: int) -> list[list[float]]:
        return self.buffer[start:end].cpu().tolist()
