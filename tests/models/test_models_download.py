"""Downloads against a loopback HTTP server: verified install, refused mismatch, mirrors, offline errors."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamloom.errors import WeightsError
from dreamloom.models.fetch import ensure_file
from dreamloom.models.registry import WeightsFile, WeightsKind

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several read chunks


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the test folder; ``/short`` announces more bytes than it sends. Records every path asked."""

    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.requests.append(self.path)
        if self.path == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:1000])
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Base URL of a loopback server over ``tmp_path/served`` (holding ``weights.bin``) and its request log."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "weights.bin").write_bytes(PAYLOAD)
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def _entry(*urls: str, sha256: str | None = None, size: int | None = len(PAYLOAD)) -> WeightsFile:
    return WeightsFile(
        name="test-weights",
        filename="family/weights.bin",
        urls=urls,
        kind=WeightsKind.VQGAN_CHECKPOINT,
        licence="test",
        size=size,
        sha256=sha256,
        description="test weights",
    )


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_matching_hash_installs_the_file(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = server
    cache = tmp_path / "cache"
    entry = _entry(f"{base}/weights.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    path = ensure_file(entry, cache, progress=False)
    assert path == (cache / "family" / "weights.bin").absolute()
    assert path.read_bytes() == PAYLOAD
    assert _files(cache) == [path]


def test_installed_file_is_reused_without_network(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, requests = server
    entry = _entry(f"{base}/weights.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    ensure_file(entry, tmp_path, progress=False)
    ensure_file(entry, tmp_path, progress=False)
    assert requests == ["/weights.bin"]


def test_hash_mismatch_is_refused_and_leaves_no_file(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match=r"refused, its sha256 is [0-9a-f]{64} instead of 0{64}"):
        ensure_file(_entry(f"{base}/weights.bin", sha256="0" * 64), cache, progress=False)
    assert _files(cache) == []


def test_size_mismatch_without_hash_is_refused(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(WeightsError, match="size is 1,048,576 bytes instead of 5"):
        ensure_file(_entry(f"{base}/weights.bin", size=5), tmp_path, progress=False)
    assert _files(tmp_path / "family") == []


def test_cut_connection_is_refused(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(WeightsError, match="connection ended after 1,000 of 1,048,576 bytes"):
        ensure_file(_entry(f"{base}/short", size=None), tmp_path, progress=False)
    assert _files(tmp_path / "family") == []


def test_falls_back_to_the_next_mirror(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, requests = server
    entry = _entry(f"{base}/gone.bin", f"{base}/weights.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    assert ensure_file(entry, tmp_path, progress=False).read_bytes() == PAYLOAD
    assert requests == ["/gone.bin", "/weights.bin"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/weights.bin"
    with pytest.raises(WeightsError) as raised:
        ensure_file(_entry(url), tmp_path, progress=False)
    message = str(raised.value)
    assert "'test-weights'" in message and url in message
    assert str((tmp_path / "family" / "weights.bin").absolute()) in message
    assert "refused" in message.lower()


def test_offline_never_contacts_the_network(
    server: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, requests = server
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"(?s)HF_HUB_OFFLINE.*weights\.bin.*place it at"):
        ensure_file(_entry(f"{base}/weights.bin"), tmp_path, progress=False)
    assert requests == []


def test_downloads_can_be_forbidden(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, requests = server
    with pytest.raises(WeightsError, match="not allowed"):
        ensure_file(_entry(f"{base}/weights.bin"), tmp_path, allow_download=False)
    assert requests == []


def test_corrupt_installed_file_is_reported_not_replaced(tmp_path: Path) -> None:
    installed = tmp_path / "family" / "weights.bin"
    installed.parent.mkdir()
    installed.write_bytes(PAYLOAD[:10])
    with pytest.raises(WeightsError, match=r"weights\.bin is corrupt: its size is 10 bytes"):
        ensure_file(_entry("http://127.0.0.1:9/unused"), tmp_path, progress=False)
    assert installed.read_bytes() == PAYLOAD[:10]


def test_non_http_urls_are_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(PAYLOAD)
    entry = dataclasses.replace(_entry(secret.as_uri()), filename="copy.bin")
    with pytest.raises(WeightsError, match="only http"):
        ensure_file(entry, tmp_path / "cache", progress=False)
