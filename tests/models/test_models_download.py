"""The one downloader against a loopback server: verified install, refusals, mirrors, resume, offline errors."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamloom.errors import WeightsError
from dreamloom.models.entries import Family, ModelEntry, WeightsFile
from dreamloom.models.fetch import FetchFailed, TooLarge, download, partial_path
from dreamloom.models.install import ensure_entry

from weights_server import Served, serve

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several read chunks
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def served() -> Served:
    return Served(files={"/weights.bin": PAYLOAD, "/other.bin": PAYLOAD[::-1]})


@pytest.fixture
def base(served: Served) -> Iterator[str]:
    with serve(served) as url:
        yield url


@pytest.fixture(autouse=True)
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def _entry(*urls: str, sha256: str | None = None, size: int | None = len(PAYLOAD)) -> ModelEntry:
    return ModelEntry(
        name="test-weights",
        family=Family.VQGAN,
        files=(WeightsFile("family/weights.bin", urls, size=size, sha256=sha256),),
        licence="test",
        description="test weights",
    )


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_matching_hash_installs_the_file(base: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = ensure_entry(_entry(f"{base}/weights.bin", sha256=SHA), cache, progress=False)
    assert path == (cache / "family" / "weights.bin").absolute()
    assert path.read_bytes() == PAYLOAD
    assert _files(cache) == [path]


def test_installed_file_is_reused_without_network(base: str, served: Served, tmp_path: Path) -> None:
    entry = _entry(f"{base}/weights.bin", sha256=SHA)
    ensure_entry(entry, tmp_path, progress=False)
    ensure_entry(entry, tmp_path, progress=False)
    assert served.requests == [("/weights.bin", None)]


def test_hash_mismatch_is_refused_and_leaves_no_file(base: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match=r"refused, its sha256 is [0-9a-f]{64} instead of 0{64}"):
        ensure_entry(_entry(f"{base}/weights.bin", sha256="0" * 64), cache, progress=False)
    assert _files(cache) == []


def test_size_mismatch_without_hash_is_refused(base: str, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="size is 1,048,576 bytes instead of 5"):
        ensure_entry(_entry(f"{base}/weights.bin", size=5), tmp_path, progress=False)
    assert _files(tmp_path / "family") == []


def test_cut_connection_keeps_the_part_and_the_next_try_resumes_it(
    base: str, served: Served, tmp_path: Path
) -> None:
    served.cut["/weights.bin"] = 300_000
    entry = _entry(f"{base}/weights.bin", sha256=SHA)
    with pytest.raises(WeightsError, match="connection ended after 300,000 of 1,048,576 bytes"):
        ensure_entry(entry, tmp_path, progress=False)
    target = tmp_path / "family" / "weights.bin"
    assert _files(tmp_path) == [partial_path(target)]
    assert partial_path(target).read_bytes() == PAYLOAD[:300_000]
    assert ensure_entry(entry, tmp_path, progress=False).read_bytes() == PAYLOAD
    assert served.requests == [("/weights.bin", None), ("/weights.bin", "bytes=300000-")]
    assert _files(tmp_path) == [target.absolute()]


def test_a_server_that_ignores_ranges_restarts_from_the_first_byte(served: Served, tmp_path: Path) -> None:
    served.ranges = False
    target = tmp_path / "weights.bin"
    partial_path(target).write_bytes(b"x" * 1000)
    with serve(served) as url:
        download(f"{url}/weights.bin", target, sha256=SHA, progress=False)
    assert target.read_bytes() == PAYLOAD and not partial_path(target).exists()


def test_a_wrong_partial_file_is_refused_by_the_hash_and_removed(base: str, tmp_path: Path) -> None:
    target = tmp_path / "weights.bin"
    partial_path(target).write_bytes(b"x" * 1000)
    with pytest.raises(FetchFailed, match="refused, its sha256"):
        download(f"{base}/weights.bin", target, sha256=SHA, progress=False)
    assert not partial_path(target).exists() and not target.exists()
    download(f"{base}/weights.bin", target, sha256=SHA, progress=False)
    assert target.read_bytes() == PAYLOAD


def test_a_complete_partial_file_is_checked_without_asking_again(
    base: str, served: Served, tmp_path: Path
) -> None:
    target = tmp_path / "weights.bin"
    partial_path(target).write_bytes(PAYLOAD)
    download(f"{base}/weights.bin", target, size=len(PAYLOAD), sha256=SHA, progress=False)
    assert target.read_bytes() == PAYLOAD and served.requests == []


def test_without_hash_or_size_the_bytes_are_taken_as_served(base: str, tmp_path: Path) -> None:
    download(f"{base}/other.bin", tmp_path / "picture", progress=False)
    assert (tmp_path / "picture").read_bytes() == PAYLOAD[::-1]


def test_max_bytes_refuses_and_removes_the_part(base: str, tmp_path: Path) -> None:
    with pytest.raises(TooLarge, match="larger than 1,000 bytes"):
        download(f"{base}/weights.bin", tmp_path / "picture", max_bytes=1000, progress=False)
    assert _files(tmp_path) == []


def test_falls_back_to_the_next_mirror(base: str, served: Served, tmp_path: Path) -> None:
    entry = _entry(f"{base}/gone.bin", f"{base}/weights.bin", sha256=SHA)
    assert ensure_entry(entry, tmp_path, progress=False).read_bytes() == PAYLOAD
    assert [path for path, _ in served.requests] == ["/gone.bin", "/weights.bin"]


def test_falls_back_to_the_next_form_and_installs_it_at_its_own_place(
    base: str, served: Served, tmp_path: Path
) -> None:
    other = WeightsFile("family/weights.pt", (f"{base}/other.bin",))
    entry = dataclasses.replace(_entry(f"{base}/gone.bin"), files=(_entry(f"{base}/gone.bin").files[0], other))
    path = ensure_entry(entry, tmp_path, progress=False)
    assert path == (tmp_path / "family" / "weights.pt").absolute() and path.read_bytes() == PAYLOAD[::-1]
    assert ensure_entry(entry, tmp_path, progress=False) == path
    assert [path for path, _ in served.requests] == ["/gone.bin", "/other.bin"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_refused_is_one_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/weights.bin"
    with pytest.raises(WeightsError) as raised:
        ensure_entry(_entry(url), tmp_path, progress=False)
    message = str(raised.value)
    assert "'test-weights'" in message and url in message
    assert str((tmp_path / "family" / "weights.bin").absolute()) in message
    assert "refused" in message.lower()


def test_offline_never_contacts_the_network(
    base: str, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match=r"(?s)HF_HUB_OFFLINE.*weights\.bin.*place it at.*1,048,576 bytes"):
        ensure_entry(_entry(f"{base}/weights.bin"), tmp_path, progress=False)
    assert served.requests == []


def test_downloads_can_be_forbidden(base: str, served: Served, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="not allowed"):
        ensure_entry(_entry(f"{base}/weights.bin"), tmp_path, allow_download=False)
    assert served.requests == []


def test_corrupt_installed_file_is_reported_not_replaced(tmp_path: Path) -> None:
    installed = tmp_path / "family" / "weights.bin"
    installed.parent.mkdir()
    installed.write_bytes(PAYLOAD[:10])
    with pytest.raises(WeightsError, match=r"weights\.bin is corrupt: its size is 10 bytes"):
        ensure_entry(_entry("http://127.0.0.1:9/unused"), tmp_path, progress=False)
    assert installed.read_bytes() == PAYLOAD[:10]


def test_non_http_urls_are_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(PAYLOAD)
    with pytest.raises(WeightsError, match="only http"):
        ensure_entry(_entry(secret.as_uri()), tmp_path / "cache", progress=False)
