"""Direct image losses: the picture should literally resemble a target (pytti ``HSVLoss``; §6.2–§6.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hsv_channels(image: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """R, G, B plus HSV saturation and value (hue is dropped, as pytti does).

    Shape: [B, 3, H, W] -> [B, 5, H, W]
    """
    value = image.amax(dim=1, keepdim=True)
    saturation = (value - image.amin(dim=1, keepdim=True)) / (value + eps)
    return torch.cat([image, saturation, value], dim=1)


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """pytti's MSE of masked inputs; the mean is over all elements, so masked-out areas dilute the loss.

    The mask is resized bilinearly to the prediction's size when they differ.
    Shape: prediction [1, C, H, W], target [1, C, H, W], mask [1, 1, h, w] or None -> scalar
    """
    if mask is None:
        return (prediction - target).square().mean()
    if mask.shape[-2:] != prediction.shape[-2:]:
        mask = F.interpolate(mask, size=prediction.shape[-2:], mode="bilinear", align_corners=False)
    return (prediction * mask - target * mask).square().mean()


def hsv_loss(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Direct loss for pixel-based models: masked MSE over R, G, B, S, V.

    Shape: image [1, 3, H, W], target [1, 3, H, W], mask [1, 1, h, w] or None -> scalar
    """
    return masked_mse(hsv_channels(image), hsv_channels(target), mask)
