"""Reading prompt images from paths and URLs: timeouts, size cap, refused schemes, clear errors."""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from dreamloom.errors import InputFileError
from dreamloom.sources import downloads_once, load_image, read_source


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (255, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


REQUESTS: list[str] = []


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A loopback HTTP server serving /red.png, /cut.png (half of it, then the connection ends) and 404
    elsewhere; every request path is appended to ``REQUESTS``."""
    payload = _png_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            REQUESTS.append(self.path)
            if self.path not in ("/red.png", "/cut.png"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload if self.path == "/red.png" else payload[: len(payload) // 2])
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_image_is_fetched(server: str) -> None:
    image = load_image(f"{server}/red.png", "[url]")
    assert image.size == (6, 4) and image.getpixel((0, 0)) == (255, 0, 0)


def test_url_errors_name_the_prompt(server: str) -> None:
    with pytest.raises(InputFileError, match=r"'\[missing\]'.*cannot download .*404"):
        read_source(f"{server}/nothing.png", "prompt '[missing]'")
    with pytest.raises(InputFileError, match="larger than 10 bytes"):
        read_source(f"{server}/red.png", "[big]", max_bytes=10)


def test_a_cut_connection_is_an_error_not_half_a_picture(server: str) -> None:
    with pytest.raises(InputFileError, match=r"\[cut\]: cannot download .*cut\.png: the connection ended after"):
        read_source(f"{server}/cut.png", "[cut]")


def test_a_url_is_fetched_once_inside_downloads_once_and_afresh_outside(server: str) -> None:
    url = f"{server}/red.png"
    REQUESTS.clear()
    with downloads_once():
        assert read_source(url, "a") == read_source(url, "b") == _png_bytes()
    assert REQUESTS == ["/red.png"]
    read_source(url, "c")
    assert REQUESTS == ["/red.png"] * 2


@pytest.mark.parametrize("source", ["ftp://example.com/a.png", "file:///etc/passwd", "data:image/png;base64,AA"])
def test_other_schemes_are_refused(source: str) -> None:
    with pytest.raises(InputFileError, match="only http"):
        read_source(source, "p")


def test_local_files(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(_png_bytes())
    assert load_image(str(tmp_path / "a.png"), "p", mode="L").mode == "L"
    with pytest.raises(InputFileError, match="does not exist"):
        read_source(str(tmp_path), "p")
