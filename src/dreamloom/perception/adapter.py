"""The one calling convention every perceptor follows, wrapped around an open_clip model.

``encode_image([B,3,H,W] in [0,1]) -> [B,D]`` float32, ``encode_text(list[str]) -> [N,D]`` float32. The
adapter normalises with the model's own mean/std (never hard-coded CLIP constants, unlike pytti §3.5) and
resizes nothing: callers cut out ``input_size`` squares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from dreamloom.errors import PromptError, excerpt
from dreamloom.perception.fast_paths import accelerate

__all__ = ["Perceptor"]

Tokenizer = Callable[[Sequence[str]], torch.Tensor]

# open_clip's text-tower attributes: CLIP keeps them on the model, CustomTextCLIP under ``text``.
_TEXT_TOWER_PARTS = ("transformer", "token_embedding", "positional_embedding", "ln_final", "text_projection",
                     "attn_mask", "text")


class Perceptor(nn.Module):
    """A frozen CLIP-like model behind dreamloom's perceptor convention.

    ``compute_dtype`` other than float32 runs the model under autocast (fp16 on CUDA, bf16 on CPU) while
    keeping float32 weights, so gradients still reach an fp32 image. Transformer blocks, a ViT's patch
    embedding and OpenAI's QuickGELU are swapped for their faster, leaner equivalents in
    :mod:`~dreamloom.perception.fast_paths` (same weights, same function).
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Tokenizer,
        *,
        name: str,
        input_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        context_length: int,
        compute_dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        accelerate(self.model)
        self.tokenizer = tokenizer
        self.name = name
        self.input_size = input_size
        self.context_length = context_length
        self.compute_dtype = compute_dtype
        self.text_released = False
        device = next(model.parameters()).device
        self.register_buffer("mean", torch.tensor(mean, device=device).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, device=device).view(1, 3, 1, 1), persistent=False)

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def train(self, mode: bool = True) -> Perceptor:
        """Stay in eval mode whatever the caller asks: a perceptor is never trained here."""
        return super().train(False)

    def _autocast(self) -> torch.autocast:
        enabled = self.compute_dtype != torch.float32
        return torch.autocast(self.device.type, dtype=self.compute_dtype, enabled=enabled)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Embed images already at ``input_size``. Shape: [B, 3, S, S] in [0, 1] -> [B, D] float32."""
        normalised = (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)
        with self._autocast():
            embeddings = self.model.encode_image(normalised)
        return embeddings.float()

    def token_count(self, text: str) -> int:
        """Tokens ``text`` needs, start and end markers included (for the context-length check)."""
        encode = getattr(self.tokenizer, "encode", None)
        if encode is None:
            return 0
        return len(encode(text)) + 2

    def check_text(self, text: str, label: str) -> None:
        """Refuse a prompt the tokenizer would silently truncate; the error names the prompt."""
        needed = self.token_count(text)
        if needed > self.context_length:
            raise PromptError(
                f"prompt {excerpt(label)} is too long for perceptor {self.name}: {needed} tokens, at most "
                f"{self.context_length}; shorten the text or split it into several prompts"
            )

    def release_text_tower(self) -> int:
        """Free the text tower once every prompt is embedded (ViT-B/32: 63 M parameters, about 250 MB).

        A render embeds all its prompts before the first step and never again, so the text weights would
        only sit in memory. Returns the number of values freed; :meth:`encode_text` refuses afterwards.
        """
        freed = 0
        for name in _TEXT_TOWER_PARTS:
            part = getattr(self.model, name, None)
            if isinstance(part, nn.Module):
                freed += sum(p.numel() for p in part.parameters())
            elif isinstance(part, torch.Tensor):
                freed += part.numel()
            else:
                continue
            delattr(self.model, name)
        self.text_released = True
        return freed

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed texts once (no gradient: prompts are constants). Shape: N texts -> [N, D] float32."""
        if self.text_released:
            raise RuntimeError(f"perceptor {self.name}: the text tower was released after the prompts were embedded")
        for text in texts:
            self.check_text(text, text)
        tokens = self.tokenizer(list(texts)).to(self.device)
        with self._autocast():
            embeddings = self.model.encode_text(tokens)
        return embeddings.float()
