"""The training recipe's settings: every number that decides the demo perceptor's trained weights."""

from __future__ import annotations

from dataclasses import dataclass

CUT = 64  # the demo perceptor's input size: cutouts, probe pictures and colour paths are this square


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights (saved into the weights file's metadata)."""

    pretrain_steps: int = 800
    pretrain_canvases: int = 64
    pretrain_noise: float = 0.05
    steps: int = 600
    canvases: int = 24
    cutouts: int = 4
    twins: int = 8
    contrasts: int = 3
    lr: float = 1.5e-3
    warmup: int = 50
    weight_decay: float = 0.05
    rank_margin: float = 0.3
    token_init_std: float = 0.5
    fact_weight: float = 1.0
    colour_paths: int = 16
    path_margin: float = 0.3
    cone_shift: float = 1.0
    fact_scale: float = 10.0
    seed: int = 0
