"""The one downloader: an http(s) URL into a file, with progress, resume, checks and an atomic rename.

Bytes stream into ``<target>.part`` while they are hashed. A ``.part`` left by an interrupted download is
continued with an HTTP ``Range`` request (and restarted when the server ignores the range). Only when every
announced byte arrived and the size and sha256 match, where the caller knows them, is the file renamed into
place with ``os.replace``; a file that looks installed is therefore always complete. Pictures named by URL
have no known hash or size: they pass neither and are capped by ``max_bytes`` instead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from dreamloom.version import __version__
from dreamloom.models.verify import CHUNK, mismatch, sha256_of

TIMEOUT_S = 30.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


class FetchFailed(Exception):
    """A URL did not deliver the expected bytes; callers turn it into their own DreamloomError."""


class TooLarge(FetchFailed):
    """The URL serves more bytes than the caller's ``max_bytes``."""


def partial_path(target: Path) -> Path:
    """Where the bytes of ``target`` gather until they are complete and checked."""
    return target.with_name(target.name + ".part")


def download(
    url: str,
    target: Path,
    *,
    size: int | None = None,
    sha256: str | None = None,
    max_bytes: int | None = None,
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> None:
    """Fetch ``url`` to ``target``, continuing a partial download; :class:`FetchFailed` says why not.

    A partial file is kept after a broken connection (the next call continues it) and deleted when the
    bytes are refused (wrong size or sha256, or over ``max_bytes``).
    """
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchFailed(f"only http(s) URLs are fetched, not {url!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    try:
        received, digest = _receive(url, partial, size, max_bytes, progress, timeout)
    except TooLarge:
        partial.unlink(missing_ok=True)
        raise
    problem = mismatch(received, digest, expected_size=size, expected_sha256=sha256)
    if problem is not None:
        partial.unlink()
        raise FetchFailed(f"download refused, {problem}")
    os.replace(partial, target)


def _receive(
    url: str, partial: Path, size: int | None, max_bytes: int | None, progress: bool, timeout: float
) -> tuple[int, str]:
    """Fill ``partial`` with the bytes of ``url``, continuing what it holds; (its size, its sha256)."""
    offset = partial.stat().st_size if partial.is_file() else 0
    if size is not None and offset > size:
        offset = 0
    elif offset and offset == size:
        return offset, sha256_of(partial)
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as error:
        if error.code == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE and offset:
            partial.unlink()
            return _receive(url, partial, size, max_bytes, progress, timeout)
        raise FetchFailed(str(error)) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise FetchFailed(str(error)) from None
    with response:
        start, total = _span(response, offset)
        if max_bytes is not None and total is not None and total > max_bytes:
            raise TooLarge(f"it is larger than {max_bytes:,} bytes")
        digest = hashlib.sha256(partial.read_bytes() if start else b"")
        with partial.open("r+b" if start else "wb") as sink:
            sink.truncate(start)
            sink.seek(start)
            _copy(response, sink, digest, total, max_bytes, progress, partial.stem)
            received = sink.tell()
    if total is not None and received != total:
        raise FetchFailed(f"the connection ended after {received:,} of {total:,} bytes")
    return received, digest.hexdigest()


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    """GET ``url``, asking for the bytes from ``offset`` on when a partial file holds the ones before."""
    headers = {"User-Agent": f"dreamloom/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _span(response: http.client.HTTPResponse, offset: int) -> tuple[int, int | None]:
    """(byte at which the body starts, total size of the file or None when not announced).

    A 206 answer continues from ``offset``; any other success is the whole file from byte 0.
    """
    length = response.headers.get("Content-Length", "")
    if response.status == HTTPStatus.PARTIAL_CONTENT:
        found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if found is None or int(found[1]) != offset:
            raise FetchFailed(f"the server answered a request for bytes from {offset:,} with other bytes")
        if found[2] != "*":
            return offset, int(found[2])
        return offset, offset + int(length) if length.isdigit() else None
    return 0, int(length) if length.isdigit() else None


def _copy(
    source: BinaryIO,
    sink: BinaryIO,
    digest: hashlib._Hash,
    total: int | None,
    max_bytes: int | None,
    progress: bool,
    label: str,
) -> None:
    """Copy ``source`` to the end of ``sink`` while hashing, with a progress bar; a broken connection just
    ends the copy (the caller compares what arrived with what was announced)."""
    start = sink.tell()
    bar = tqdm(
        total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not progress
    )
    with bar:
        try:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                sink.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
                if max_bytes is not None and sink.tell() > max_bytes:
                    raise TooLarge(f"it is larger than {max_bytes:,} bytes")
        except (OSError, http.client.HTTPException):
            return
