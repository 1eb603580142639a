"""Where an open_clip checkpoint lives in dreamloom's cache, and getting it there.

Layout: ``<models_parent_dir>/open_clip/<model>/<tag>/<file>``, one folder per (architecture, weights)
pair, so a user without network can place a file by hand. Files come from the Hugging Face mirror that
open_clip's pretrained table names (safetensors preferred) or from its URL; downloads stream into a
temporary file and are renamed into place only when complete.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import open_clip

from dreamloom.errors import WeightsError
from dreamloom.models.cache import offline as downloads_forbidden

__all__ = ["WeightsSource", "weights_source", "weights_folder", "find_weights", "ensure_weights"]

logger = logging.getLogger(__name__)

_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")
_HF_DEFAULT = "open_clip_pytorch_model.bin"
_HF_SAFE = "open_clip_model.safetensors"
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class WeightsSource:
    """Candidate (file name, URL) pairs for one checkpoint, preferred first."""

    model: str
    tag: str
    candidates: tuple[tuple[str, str], ...]


def _hf_candidates(hf_hub: str) -> tuple[tuple[str, str], ...]:
    """open_clip's ``hf_hub`` is ``org/repo/`` (default file) or ``org/repo/file``."""
    repo, filename = os.path.split(hf_hub)
    filename = filename or _HF_DEFAULT
    names = [filename]
    if filename.endswith((".bin", ".pth")):
        names.insert(0, _HF_SAFE if filename == _HF_DEFAULT else filename.rsplit(".", 1)[0] + ".safetensors")
    return tuple((name, f"https://huggingface.co/{repo}/resolve/main/{name}") for name in names)


def weights_source(model: str, tag: str) -> WeightsSource:
    """Where the weights ``tag`` of architecture ``model`` can be downloaded from (open_clip's table)."""
    cfg = open_clip.get_pretrained_cfg(model, tag)
    candidates: tuple[tuple[str, str], ...] = ()
    if cfg.get("hf_hub"):
        candidates += _hf_candidates(cfg["hf_hub"])
    if cfg.get("url"):
        candidates += ((os.path.basename(cfg["url"]), cfg["url"]),)
    return WeightsSource(model=model, tag=tag, candidates=candidates)


def weights_folder(cache_dir: Path, model: str, tag: str) -> Path:
    """The folder that holds the checkpoint of (``model``, ``tag``)."""
    return Path(cache_dir).expanduser() / "open_clip" / model / tag


def find_weights(folder: Path) -> Path | None:
    """The checkpoint already in ``folder`` (safetensors preferred), or None."""
    for suffix in _SUFFIXES:
        found = sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def _missing(source: WeightsSource, folder: Path, reason: str) -> WeightsError:
    first_name, _ = source.candidates[0]
    urls = "\n".join(f"  {url}" for _, url in source.candidates)
    return WeightsError(
        f"perceptor weights for {source.model}/{source.tag} are not installed ({reason}). "
        f"Download the file from one of:\n{urls}\nand place it at:\n  {folder / first_name}"
    )


def _download(url: str, target: Path) -> None:
    """Stream ``url`` into a temporary file beside ``target``, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as sink, urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            shutil.copyfileobj(response, sink, length=1 << 20)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def ensure_weights(model: str, tag: str, cache_dir: Path, *, offline: bool) -> Path:
    """Path of the cached checkpoint, downloading it unless ``offline`` (or ``HF_HUB_OFFLINE``) is set."""
    folder = weights_folder(cache_dir, model, tag)
    found = find_weights(folder)
    if found is not None:
        return found
    source = weights_source(model, tag)
    if not source.candidates:
        raise WeightsError(f"open_clip lists no download for {model}/{tag}; place a checkpoint in {folder}")
    if offline or downloads_forbidden():
        raise _missing(source, folder, "downloads are off: no network or HF_HUB_OFFLINE is set")
    failures = []
    for name, url in source.candidates:
        logger.info("downloading %s/%s from %s", model, tag, url)
        try:
            _download(url, folder / name)
        except (urllib.error.URLError, OSError, ValueError) as failure:
            failures.append(f"{url}: {failure}")
        else:
            return folder / name
    raise _missing(source, folder, "download failed: " + "; ".join(failures))
