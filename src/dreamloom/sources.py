"""Reading pictures named by settings: local paths or http(s) URLs, with clear errors that name the setting.

URLs are fetched with a timeout and a size cap; any other scheme (file:, ftp:, data:…) is refused so a shared
config cannot make dreamloom read arbitrary resources.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from dreamloom.errors import InputFileError

URL_TIMEOUT_SECONDS = 20.0
MAX_DOWNLOAD_BYTES = 64 * 2**20


def is_url(source: str) -> bool:
    return "://" in source


def fetch_bytes(url: str, setting: str) -> bytes:
    """Download ``url`` (http/https only) within the timeout and size cap."""
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise InputFileError(f"{setting}: {url!r} uses the {scheme}: scheme; only http(s) URLs and local paths are allowed.")
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_SECONDS) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise InputFileError(f"{setting}: cannot download {url} ({reason}). Check the URL or use a local file.") from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise InputFileError(f"{setting}: {url} is larger than {MAX_DOWNLOAD_BYTES // 2**20} MiB; download it and use the local file.")
    return data


def read_picture(source: str, setting: str, base: Path | None = None) -> Image.Image:
    """Open the picture at a path (relative to ``base``) or URL as RGB; missing or non-image files are errors."""
    if is_url(source):
        data = fetch_bytes(source, setting)
        where = source
    else:
        path = Path(source).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        if not path.is_file():
            raise InputFileError(f"{setting}: file not found: {path}. Check the path (relative paths start in {base or Path.cwd()}).")
        data = path.read_bytes()
        where = str(path)
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise InputFileError(f"{setting}: {where} is not a readable image ({error}). Use a PNG, JPEG or WebP file.") from None
