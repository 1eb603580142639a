"""pytti's perceptor flags, the one table that both the settings schema and perceptor loading read.

It lives with the settings because the flags are settings keys; lower layers never need it and higher
ones (perception, the weights registry) may import settings' vocabulary.
"""

from __future__ import annotations

#: Tag of the OpenAI CLIP weights in open_clip's pretrained table (every pytti flag uses it).
OPENAI_TAG = "openai"

#: pytti's flags in pytti's load order (prompts-and-perceptors.md §8), which fixes the order of the
#: perceptor axis → the open_clip architecture of each (OpenAI CLIP uses QuickGELU).
PYTTI_PERCEPTOR_FLAGS: dict[str, str] = {
    "RN50": "RN50-quickgelu",
    "RN101": "RN101-quickgelu",
    "RN50x4": "RN50x4-quickgelu",
    "RN50x16": "RN50x16-quickgelu",
    "RN50x64": "RN50x64-quickgelu",
    "ViTB32": "ViT-B-32-quickgelu",
    "ViTB16": "ViT-B-16-quickgelu",
    "ViTL14": "ViT-L-14-quickgelu",
    "ViTL14_336px": "ViT-L-14-336-quickgelu",
}
