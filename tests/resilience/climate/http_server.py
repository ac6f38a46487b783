"""A real HTTP/1.1 file server on 127.0.0.1 for download tests, run in a thread.

Each served path is a :class:`Route` with its bytes and a misbehaviour to stage: fail the
first N requests with 503, cut the body short on the first N responses (the connection is
closed after half the bytes while ``Content-Length`` announces all of them), or serve a
404. The server honours ``Range``/``If-Range`` (206), ``If-None-Match`` and
``If-Modified-Since`` (304) as RFC 9110 describes, and counts requests and body bytes per
path so tests can prove what was transferred.

Not a test module: test files load it with ``importlib`` (pytest runs in importlib mode).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Route:
    """One served file and how the server should misbehave for it."""

    body: bytes
    fail_first: int = 0  # answer the first N requests with 503
    truncate_first: int = 0  # cut the body short on the first N 200/206 responses
    status: int = 200  # e.g. 404 to serve nothing
    ranges: bool = True  # honour Range requests
    requests: int = 0
    bytes_sent: int = 0
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    @property
    def etag(self) -> str:
        """Return a strong ETag derived from the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict[str, Route] = {}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep test output quiet."""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        route = self.routes.get(self.path)
        if route is None:
            self._send_status(404)
            return
        route.requests += 1
        route.headers_seen.append(dict(self.headers.items()))
        if route.status != 200:
            self._send_status(route.status)
        elif route.requests <= route.fail_first:
            self._send_status(503, {"Retry-After": "0"})
        elif self._not_modified(route):
            self._send_status(304, {"ETag": route.etag})
        else:
            self._send_body(route)

    def _not_modified(self, route: Route) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:
            return match == route.etag
        return self.headers.get("If-Modified-Since") == LAST_MODIFIED

    def _send_status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_body(self, route: Route) -> None:
        start, body = 0, route.body
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if route.ranges and wanted and if_range in (None, route.etag, LAST_MODIFIED):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self._send_status(416, {"Content-Range": f"bytes */{len(body)}"})
                return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", route.etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        if route.ranges:
            self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        payload = body[start:]
        if route.truncate_first > 0:
            route.truncate_first -= 1
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        self.wfile.write(payload)
        self.wfile.flush()
        route.bytes_sent += len(payload)


@dataclass
class Server:
    """A running server: its base URL and the routes it serves (mutable by tests)."""

    base_url: str
    routes: dict[str, Route]

    def url(self, path: str) -> str:
        """Return the absolute URL of ``path`` (which starts with ``/``)."""
        return self.base_url + path


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Server]:
    """Serve ``routes`` on an ephemeral 127.0.0.1 port until the block ends."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", routes)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
