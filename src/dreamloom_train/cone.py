"""The finishing step: shift the trained embeddings into a cone so that pytti's mask stop of 1 works."""

from __future__ import annotations

import open_clip
import torch
import torch.nn.functional as F

from dreamloom.perception.demo_model import DEMO_MODEL_NAME
from dreamloom.perception.prompt_loss import spherical_distance
from dreamloom_train.captions import captioned_batch
from dreamloom_train.config import CUT
from dreamloom_train.preprocess import normalise


@torch.no_grad()
def shift_into_cone(model: torch.nn.Module, amount: float, seed: int) -> float:
    """Add one shared vector to every image and text embedding (through the towers' output biases).

    Contrastive training spreads embeddings over the whole sphere: most image-text pairs end up more than
    81° apart, a spherical distance above 1. pytti's positional and semantic masks switch a cutout off with
    a stop of 1, which works for CLIP (its image-text angles stay near 70–80°) but not for such a model:
    masked-off cutouts keep pulling. A shared shift of ``amount`` times the mean embedding length, along
    the mean direction, closes the cone while keeping every comparison between prompts nearly as it was.
    The image shift goes into the attention pool's output bias, the text shift into ``ln_final``'s bias
    (mapped through the text projection). Returns the share of image-text distances above 1 afterwards.
    """
    tokenizer = open_clip.get_tokenizer(DEMO_MODEL_NAME)
    batch = captioned_batch(256, CUT, seed)
    tokens = tokenizer(sorted({c.text for c in batch.captions}))
    images = normalise(batch.images, model)
    image, text = model.encode_image(images), model.encode_text(tokens)
    direction = F.normalize(F.normalize(image, dim=1).mean(0) + F.normalize(text, dim=1).mean(0), dim=0)
    model.visual.attnpool.c_proj.bias += amount * image.norm(dim=1).mean() * direction
    text_shift = amount * text.norm(dim=1).mean() * direction
    model.ln_final.bias += torch.linalg.lstsq(model.text_projection.T, text_shift[:, None]).solution[:, 0]
    image, text = model.encode_image(images, normalize=True), model.encode_text(tokens, normalize=True)
    return float((spherical_distance(image[:, None], text[None]) > 1).double().mean())
