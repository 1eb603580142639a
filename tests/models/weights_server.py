"""A loopback HTTP server for download tests: serves fixed bytes, honours Range requests, can cut a reply."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Served:
    """What the server serves and what it was asked.

    ``files`` maps a path to its bytes; a path in ``cut`` sends only that many bytes of its next reply (then
    the connection closes); ``ranges`` False makes the server ignore Range headers, as some hosts do.
    ``requests`` records (path, Range header or None) for each request.
    """

    files: dict[str, bytes]
    cut: dict[str, int] = field(default_factory=dict)
    ranges: bool = True
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def _handler(served: Served) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            asked = self.headers.get("Range")
            served.requests.append((self.path, asked))
            data = served.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            found = re.fullmatch(r"bytes=(\d+)-", asked or "")
            if served.ranges and found:
                start = int(found[1])
                if start >= len(data):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            body = data[start:]
            limit = served.cut.pop(self.path, None)
            self.wfile.write(body if limit is None else body[:limit])
            if limit is not None:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Handler


@contextmanager
def serve(served: Served) -> Iterator[str]:
    """Run a server for ``served`` on 127.0.0.1; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
