"""Pictures in [0, 1] to the demo perceptor's input, for training and evaluation outside the renderer."""

from __future__ import annotations

import torch


def normalise(images: torch.Tensor, model: torch.nn.Module) -> torch.Tensor:
    """Apply the model's own preprocessing mean and std (open_clip's ``preprocess_cfg``).

    Shape: [N, 3, H, W] -> [N, 3, H, W].
    """
    cfg = model.visual.preprocess_cfg
    mean = torch.tensor(cfg["mean"], device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"], device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images - mean) / std
