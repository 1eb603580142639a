"""Reading the pictures settings and prompts name (init image, image prompts, masks): paths and http(s) URLs.

pytti fetched URLs with no timeout or size limit and opened any path (§1.6); here URLs go through the
weights downloader (:mod:`dreamloom.models.fetch`) with a timeout and a size cap, other schemes are
refused, and every failure is an InputFileError that starts with ``where`` (the setting or prompt that
named the file) and names the path.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dreamloom.errors import InputFileError, shortened
from dreamloom.models.fetch import FetchFailed, TooLarge, download

__all__ = ["read_source", "load_image", "downloads_once", "MAX_DOWNLOAD_BYTES", "DOWNLOAD_TIMEOUT_S"]

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 30.0


def _is_url(source: str) -> bool:
    scheme = urllib.parse.urlsplit(source).scheme
    return len(scheme) > 1  # one letter is a Windows drive ("C:\\...")


def _download(url: str, where: str, *, timeout: float, max_bytes: int) -> bytes:
    """The bytes at ``url``, through the one downloader into a private temporary folder (no hash is known)."""
    with tempfile.TemporaryDirectory(prefix="dreamloom-picture-") as folder:
        target = Path(folder) / "picture"
        try:
            download(url, target, max_bytes=max_bytes, progress=False, timeout=timeout)
        except TooLarge:
            raise InputFileError(
                f"{where}: {url} is larger than {max_bytes:,} bytes; download it and give a path"
            ) from None
        except FetchFailed as failure:
            raise InputFileError(f"{where}: cannot download {url}: {failure}") from None
        return target.read_bytes()


_downloaded: contextvars.ContextVar[dict[str, bytes] | None] = contextvars.ContextVar("downloaded", default=None)


@contextlib.contextmanager
def downloads_once() -> Iterator[None]:
    """Within the block each URL is fetched once (a render names its init image for two losses, and an image
    prompt in every scene); outside it every read fetches afresh, so a changed picture is seen next time."""
    token = _downloaded.set({})
    try:
        yield
    finally:
        _downloaded.reset(token)


def read_source(
    source: str, where: str, *, timeout: float = DOWNLOAD_TIMEOUT_S, max_bytes: int = MAX_DOWNLOAD_BYTES
) -> bytes:
    """The bytes of a local file or an http(s) URL; anything else is an InputFileError starting with ``where``."""
    if _is_url(source):
        scheme = urllib.parse.urlsplit(source).scheme.lower()
        if scheme not in ("http", "https"):
            raise InputFileError(
                f"{where}: {source} uses the scheme {scheme!r}; only http(s) URLs and file paths are read"
            )
        memo = _downloaded.get()
        if memo is None:
            return _download(source, where, timeout=timeout, max_bytes=max_bytes)
        if source not in memo:
            memo[source] = _download(source, where, timeout=timeout, max_bytes=max_bytes)
        return memo[source]
    path = Path(source).expanduser()
    try:
        if not path.is_file():
            raise InputFileError(f"{where}: the file {shortened(str(path))} does not exist (or is not a file)")
        return path.read_bytes()
    except OSError as failure:
        raise InputFileError(f"{where}: cannot read {shortened(str(path))}: {failure.strerror or failure}") from None


def load_image(
    source: str,
    where: str,
    *,
    mode: str = "RGB",
    timeout: float = DOWNLOAD_TIMEOUT_S,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> Image.Image:
    """Open a still image from a path or URL and convert it to ``mode`` ("RGB" or "L")."""
    data = read_source(source, where, timeout=timeout, max_bytes=max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert(mode)
    except Image.DecompressionBombError:
        raise InputFileError(
            f"{where}: {source} has more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels, the most dreamloom opens "
            "(a guard against decompression bombs); scale the picture down"
        ) from None
    except UnidentifiedImageError:
        raise InputFileError(f"{where}: {source} is not an image PIL can read (not PNG, JPEG, WebP or another picture format)") from None
    except (OSError, ValueError) as failure:
        raise InputFileError(f"{where}: {source} is not an image PIL can read ({failure})") from None
