"""Quality guard of the bf16 autocast path: on the same step it pushes the image the same way as fp32."""

from __future__ import annotations

import open_clip
import torch
import torch.nn.functional as F

from dreamloom.engine.semantic import build_scene_prompts
from dreamloom.perception.adapter import Perceptor
from dreamloom.perception.guide import SemanticGuide
from dreamloom.perception.perceptors import PerceptorSpec, wrap_perceptor
from dreamloom.plan import build_plan
from dreamloom.settings.loading import load_settings

SCENES = "a lighthouse on a cliff | oil painting:0.5 | blurry:-0.3"


def _tiny_vit() -> Perceptor:
    """A random 2-layer ViT at 64 px, wrapped as the loader wraps real ones (packed attention)."""
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=64,
        vision_cfg=open_clip.CLIPVisionCfg(layers=2, width=128, head_width=32, patch_size=16, image_size=64),
        text_cfg=open_clip.CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=2, layers=1),
    )
    return wrap_perceptor(PerceptorSpec("tiny", "ViT-B-32-quickgelu", None), model, torch.float32)


def _image_gradient(guide: SemanticGuide, image: torch.Tensor, draws: list) -> torch.Tensor:
    leaf = image.clone().requires_grad_(True)
    terms = guide.losses_for(leaf, draws, 0, {"t": 0.0})
    sum(term.weighted for term in terms).backward()
    assert leaf.grad is not None
    return leaf.grad.flatten()


def test_bf16_image_gradient_points_where_the_fp32_one_does() -> None:
    perceptor = _tiny_vit()
    plan = build_plan(load_settings({"scenes": SCENES, "cutouts": 8, "seed": 0}))
    guide = build_scene_prompts(plan, [perceptor]).guide
    image = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    draws = guide.micro_batches(torch.Generator().manual_seed(2), (96, 96))[0]
    fp32 = _image_gradient(guide, image, draws)
    perceptor.compute_dtype = torch.bfloat16
    bf16 = _image_gradient(guide, image, draws)
    assert fp32.abs().sum() > 0 and not torch.equal(bf16, fp32)  # bf16 really ran
    assert F.cosine_similarity(bf16, fp32, dim=0) >= 0.98
