"""Registry entries for the perceptor weights open_clip publishes: one per (architecture, tag) pair.

Read from open_clip's pretrained table, so every ``MODEL/PRETRAINED`` name dreamloom accepts has an entry
named the same way; pytti's flags are aliases of the OpenAI entries. Each entry's files live in
``open_clip/<model>/<tag>/``, one folder per pair, in the forms open_clip would fetch, preferred first: the
safetensors copy on the Hugging Face hub, the hub's pickled file, then the original URL. OpenAI's URLs
carry the sha256 of their file as the folder before the file name (OpenAI's own loader checks it), so
that form is verified; open_clip publishes no other hash or size, so none is recorded.
"""

from __future__ import annotations

import os
import re
import urllib.parse

import open_clip

from dreamloom.models.entries import Family, ModelEntry, WeightsFile
from dreamloom.settings.perceptor_flags import OPENAI_TAG, PYTTI_PERCEPTOR_FLAGS

_HF_DEFAULT = "open_clip_pytorch_model.bin"
_HF_SAFE = "open_clip_model.safetensors"
_OPENAI_HOST = "openaipublic.azureedge.net"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _hub_files(folder: str, hf_hub: str) -> tuple[WeightsFile, ...]:
    """open_clip's ``hf_hub`` is ``org/repo/`` (default file) or ``org/repo/file``; safetensors first."""
    repo, filename = os.path.split(hf_hub)
    names = [filename or _HF_DEFAULT]
    if names[0].endswith((".bin", ".pth")):
        safe = _HF_SAFE if names[0] == _HF_DEFAULT else names[0].rsplit(".", 1)[0] + ".safetensors"
        names.insert(0, safe)
    return tuple(
        WeightsFile(f"{folder}/{name}", (f"https://huggingface.co/{repo}/resolve/main/{name}",)) for name in names
    )


def _url_file(folder: str, url: str) -> WeightsFile:
    """The original download; an OpenAI URL's sha256 (``.../<sha256>/<file>``) is recorded."""
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")
    sha256 = segments[-2] if parts.hostname == _OPENAI_HOST and _SHA256.fullmatch(segments[-2]) else None
    return WeightsFile(f"{folder}/{segments[-1]}", (url,), sha256=sha256)


def _entry(model: str, tag: str, flags: dict[str, str]) -> ModelEntry:
    cfg = open_clip.get_pretrained_cfg(model, tag)
    folder = f"{Family.PERCEPTOR.value}/{model}/{tag}"
    files = _hub_files(folder, cfg["hf_hub"]) if cfg.get("hf_hub") else ()
    if cfg.get("url"):
        files += (_url_file(folder, cfg["url"]),)
    hub = cfg.get("hf_hub", "").rsplit("/", 1)[0]
    if tag == OPENAI_TAG:
        licence, description = "MIT (OpenAI CLIP)", f"OpenAI CLIP {model}"
    else:
        licence = f"see the model card at https://huggingface.co/{hub}" if hub else "see open_clip's pretrained table"
        description = f"open_clip {model} trained on {tag}"
    alias = flags.get(model) if tag == OPENAI_TAG else None
    return ModelEntry(
        name=f"{model}/{tag}",
        family=Family.PERCEPTOR,
        files=files,
        licence=licence,
        description=description,
        aliases=(alias,) if alias else (),
    )


def perceptor_entries() -> tuple[ModelEntry, ...]:
    """An entry for every downloadable pair in open_clip's pretrained table, in open_clip's order."""
    flags = {model: flag for flag, model in PYTTI_PERCEPTOR_FLAGS.items()}
    entries = (_entry(model, tag, flags) for model, tag in open_clip.list_pretrained())
    return tuple(entry for entry in entries if entry.files)
