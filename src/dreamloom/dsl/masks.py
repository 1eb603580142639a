"""The mask part of a weight field: ``a r l d u n f``, a semantic phrase, ``[image]``, ``[video.mp4]``.

pytti (prompts-and-perceptors §1.4): a bracketed mask is a file, a video when it ends in ``.mp4``, and a
leading ``-`` inside the brackets inverts it; an unbracketed mask is a positional letter when it is one
of the seven letters exactly, else a semantic text phrase. Image-loss settings (``direct_*``) take a bare
file path as their mask (animation-losses-outputs §6.2), so they read unbracketed masks as paths.
"""

from __future__ import annotations

import logging

from dreamloom.dsl.expressions import Expression
from dreamloom.dsl.splitting import GrammarError, Token, is_bracketed
from dreamloom.dsl.tree import POSITIONAL_LETTERS, Mask, MaskKind

logger = logging.getLogger(__name__)

# pytti only knows ``.mp4``; PyAV reads the others, so dreamloom treats them as videos too.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
_FILE_SUFFIXES = (*VIDEO_SUFFIXES, ".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def parse_mask(token: Token, cutoff: Expression | None, *, paths_only: bool = False) -> Mask | None:
    """The mask written in ``token``; None for the whole image (letter ``a``).

    With ``paths_only`` (image-loss settings) an unbracketed mask is a file path, not a phrase.
    """
    mask = token.stripped()
    if not mask.text:
        what = "a file path" if paths_only else "a letter, a phrase or a [file]"
        raise GrammarError("empty mask after '_'", token.start, f"write {what} after the '_', or drop it")
    if is_bracketed(mask.text):
        return _file_mask(Token(mask.text[1:-1], mask.start + 1), cutoff)
    if paths_only:
        return _file_mask(mask, cutoff)
    if mask.text == "a":
        return None
    if mask.text in POSITIONAL_LETTERS:
        return Mask(MaskKind.POSITIONAL, letter=mask.text, cutoff=cutoff)
    if mask.text.lower().endswith(_FILE_SUFFIXES):
        logger.warning("mask %r is read as a text phrase; write [%s] to use the file as a mask", mask.text, mask.text)
    return Mask(MaskKind.SEMANTIC, text=mask.text, cutoff=cutoff)


def _file_mask(token: Token, cutoff: Expression | None) -> Mask:
    path = token.stripped()
    inverted = path.text.startswith("-")
    if inverted:
        path = Token(path.text[1:], path.start + 1).stripped()
    if not path.text:
        raise GrammarError("empty mask file name", path.start, "write the image or video path, e.g. [mask.png]")
    kind = MaskKind.VIDEO if path.text.lower().endswith(VIDEO_SUFFIXES) else MaskKind.IMAGE
    return Mask(kind, path=path.text, inverted=inverted, cutoff=cutoff)


def format_mask(mask: Mask) -> str:
    """The mask as it is written in a prompt (files always in brackets)."""
    if mask.kind is MaskKind.POSITIONAL:
        return str(mask.letter)
    if mask.kind is MaskKind.SEMANTIC:
        return str(mask.text)
    return f"[{'-' if mask.inverted else ''}{mask.path}]"
