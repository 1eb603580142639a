"""The training loop: facts of whole pictures first, then renderer views under all the losses."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import numpy as np
import open_clip
import torch

from dreamloom.perception.demo_model import DEMO_MODEL_NAME, register_demo_model
from dreamloom_train.batches import make_batch, make_whole_batch
from dreamloom_train.colour_paths import make_colour_paths, path_loss
from dreamloom_train.config import TrainConfig
from dreamloom_train.fact_heads import FactHeads
from dreamloom_train.losses import contrastive_loss, ranking_loss
from dreamloom_train.preprocess import normalise

LOG = logging.getLogger(__name__)


class TokenCache:
    """Tokenise each distinct caption once."""

    def __init__(self, tokenizer: Callable[[list[str]], torch.Tensor]) -> None:
        self._tokenizer, self._rows = tokenizer, {}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = [t for t in texts if t not in self._rows]
        if missing:
            self._rows.update(zip(missing, self._tokenizer(missing)))
        return torch.stack([self._rows[t] for t in texts])


def _optimiser(model: torch.nn.Module, heads: FactHeads, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (not embeddings, norms, biases, the logit scale or the heads)."""
    decayed = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    others = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    groups = [
        {"params": decayed, "weight_decay": cfg.weight_decay},
        {"params": others + list(heads.parameters()), "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)


def _learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero over both phases."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.pretrain_steps + cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train(cfg: TrainConfig) -> torch.nn.Module:
    """Train a freshly initialised demo model; logs losses every 50 steps."""
    torch.manual_seed(cfg.seed)
    register_demo_model()
    model = open_clip.create_model(DEMO_MODEL_NAME).train()
    torch.nn.init.normal_(model.token_embedding.weight, std=cfg.token_init_std)  # distinct words from step 0
    tokens = TokenCache(open_clip.get_tokenizer(DEMO_MODEL_NAME))
    heads = FactHeads(model.text_projection.shape[1], cfg.fact_scale)
    optimiser = _optimiser(model, heads, cfg)
    rng, gen = np.random.default_rng(cfg.seed), torch.Generator().manual_seed(cfg.seed)
    start = time.perf_counter()
    for step in range(cfg.pretrain_steps):
        pictures, view_labels, captions, caption_labels = make_whole_batch(cfg, rng, gen)
        image = model.encode_image(normalise(pictures, model), normalize=True)
        text = model.encode_text(tokens(captions), normalize=True)
        fact_loss = heads(image, view_labels) + heads(text, caption_labels)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, cfg)
        optimiser.zero_grad(set_to_none=True)
        fact_loss.backward()
        optimiser.step()
        if step % 50 == 0 or step == cfg.pretrain_steps - 1:
            LOG.info("pretrain %d  facts %.3f  %.0f s", step, fact_loss.item(), time.perf_counter() - start)
    for step in range(cfg.pretrain_steps, cfg.pretrain_steps + cfg.steps):
        batch = make_batch(cfg, rng, gen)
        paths = make_colour_paths(cfg.colour_paths, rng, gen)
        embeds = model.encode_image(normalise(torch.cat([batch.views, paths.pictures]), model), normalize=True)
        image, path_image = embeds[: batch.views.shape[0]], embeds[batch.views.shape[0]:]
        text = model.encode_text(tokens(batch.captions), normalize=True)
        clip_loss = contrastive_loss(model.logit_scale.exp() * image @ text.T, batch.truth)
        rank_loss = ranking_loss(image, text, batch, cfg.rank_margin)
        rank_loss = rank_loss + path_loss(path_image, model.encode_text(tokens(paths.captions), normalize=True),
                                          paths, cfg.path_margin)
        fact_loss = heads(image, batch.view_labels) + heads(text, batch.caption_labels)
        for group in optimiser.param_groups:
            group["lr"] = _learning_rate(step, cfg)
        optimiser.zero_grad(set_to_none=True)
        (clip_loss + rank_loss + cfg.fact_weight * fact_loss).backward()
        optimiser.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 50 == 0 or step == cfg.pretrain_steps + cfg.steps - 1:
            LOG.info("step %d  clip %.3f  rank %.4f  facts %.3f  scale %.1f  %.0f s", step, clip_loss.item(),
                     rank_loss.item(), fact_loss.item(), model.logit_scale.exp().item(), time.perf_counter() - start)
    return model.eval()
