"""A small threaded HTTP server that maps path prefixes to plain functions.

The Slack routes (Web API, file downloads, uploads, response_url) and, later, a
playground page are all just ``Route`` functions from ``HttpRequest`` to
``HttpResponse``, so they can be tested and added without subclassing anything.
Standard library only: the emulator must run where the bot runs, with no extras.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class HttpRequest:
    """One request, read fully: header names are lower-cased, the query is flattened."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def bearer_token(self) -> str | None:
        auth = self.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass
class HttpResponse:
    """What to answer; ``reset=True`` drops the connection instead (a network fault)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
        body = json.dumps(data).encode()
        return cls(status, body, "application/json; charset=utf-8", dict(headers or {}))

    @classmethod
    def html(cls, page: str, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
        return cls(status, page.encode(), "text/html; charset=utf-8", dict(headers or {}))

    @classmethod
    def text(cls, text: str, status: int = 200) -> HttpResponse:
        return cls(status, text.encode())


Route = Callable[[HttpRequest], HttpResponse]


class HttpServer:
    """Serves routes on 127.0.0.1 at a free port, in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._routes: list[tuple[str, str, Route]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def route(self, method: str, prefix: str, handler: Route) -> None:
        """Send requests whose path starts with ``prefix`` to ``handler``; "*" is any method.

        Routes are tried longest prefix first, so a later, more specific route wins.
        """
        self._routes.append((method.upper(), prefix, handler))
        self._routes.sort(key=lambda r: len(r[1]), reverse=True)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("The server is not running. Call start() first.")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}/"

    def start(self) -> None:
        if self._server is not None:
            return
        server = ThreadingHTTPServer(self._address, _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-emulator-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def dispatch(self, request: HttpRequest) -> HttpResponse:
        for method, prefix, handler in self._routes:
            if request.path.startswith(prefix) and method in ("*", request.method):
                return handler(request)
        return HttpResponse.text("not found", 404)


def _make_handler(server: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a fault never leaves a client half-read.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # tests read calls from the emulator, not from stderr

        def _handle(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = HttpRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            try:
                response = server.dispatch(request)
            except Exception as exc:  # a bug in a route must show up, not hang the client
                response = HttpResponse.text(f"emulator error: {exc!r}", 500)
            if response.reset:
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler
