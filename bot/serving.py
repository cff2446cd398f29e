"""Running the Bolt app: HTTP mode (`POST /slack/events`) or Socket Mode.

HTTP mode serves Bolt's WSGI adapter from waitress, whose event loop reads every request
before a worker sees it, so a slow or hostile client costs one socket, never a thread.
In front of Bolt, in this order:

1. a body over `MAX_BODY_BYTES` (Slack's payloads are a few kB) is refused with 413
   from its Content-Length, before it is read (a chunked one as soon as it passes the cap);
2. a request still arriving `REQUEST_DEADLINE_S` after its first byte is cut off, and a
   connection idle for `IDLE_TIMEOUT_S` is closed;
3. at most `WORKERS` requests are verified at once, on at most `MAX_CONNECTIONS` sockets;
4. a missing or non-numeric `X-Slack-Request-Timestamp` is a plain 401, like a bad signature.

Each request is then verified (signature and age) and acknowledged by Bolt, while lazy
listeners do the work on the app's listener pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

log = logging.getLogger("argot.serve")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
REQUEST_DEADLINE_S = 15.0
IDLE_TIMEOUT_S = 60
WORKERS = 8
MAX_CONNECTIONS = 200


def _plain(start_response: Any, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text.encode()]


def wsgi_app(app: App, max_body: int = MAX_BODY_BYTES) -> Any:
    """Bolt at POST /slack/events, plus GET /healthz for load balancers and tests."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _plain(start_response, "200 OK", "ok")
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > max_body:
            return _plain(start_response, "413 Request Entity Too Large", "body too large")
        if environ.get("REQUEST_METHOD") == "POST" and \
                not environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").isdigit():
            return _plain(start_response, "401 Unauthorized", "invalid request")
        return slack(environ, start_response)

    return application


class DeadlineChannel(HTTPChannel):
    """A connection that remembers when its current request began arriving."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:
            self.request_started = time.monotonic()
        done = super().received(data)
        if self.request is None:
            self.request_started = None
        return done


class SlackFacingServer(TcpWSGIServer):
    """waitress, plus a whole-request deadline (its own timeout only counts idle time)."""

    channel_class = DeadlineChannel
    request_deadline_s = REQUEST_DEADLINE_S

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = time.monotonic() - self.request_deadline_s
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if started is not None and started < cutoff and not channel.requests:
                log.info("closing %s: its request took over %.0f s to arrive",
                         channel.addr, self.request_deadline_s)
                channel.will_close = True


class HttpBot:
    """The app listening on host:port; `port=0` picks a free one (tests).

    The default host is loopback: put a TLS-terminating proxy in front, or pass
    `--host 0.0.0.0` in a container whose port is published.
    """

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 3000, *,
                 max_body: int = MAX_BODY_BYTES, request_deadline_s: float = REQUEST_DEADLINE_S,
                 workers: int = WORKERS) -> None:
        self.app = app
        adj = Adjustments(host=host, port=port, threads=workers, connection_limit=MAX_CONNECTIONS,
                          channel_timeout=IDLE_TIMEOUT_S, max_request_body_size=max_body,
                          cleanup_interval=max(1, int(request_deadline_s / 4)),
                          asyncore_loop_timeout=0.2, asyncore_use_poll=True,
                          ident="argot", expose_tracebacks=False)
        self._map: dict[int, Any] = {}
        self.server = SlackFacingServer(wsgi_app(app, max_body), map=self._map, adj=adj)
        self.server.request_deadline_s = request_deadline_s
        self.host, self.port = host, int(self.server.effective_port)
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    @property
    def events_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        self._serving = True
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=0.2, use_poll=True, map=self._map, count=1)
        finally:
            wasyncore.close_all(self._map)
            self.server.task_dispatcher.shutdown(timeout=5)
            self._stopped.set()

    def start(self) -> HttpBot:
        """Serve on a background thread."""
        self._serving = True
        self._thread = threading.Thread(target=self.serve_forever, name="argot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking events, then let the answers already being worked on finish.
        Stopping again does nothing."""
        if self._stopping.is_set():
            return
        if self._serving:
            # Wake the loop before telling it to stop: once it sees the flag it closes its
            # trigger, and a pull after that fails (EBADF).
            self.server.pull_trigger()
            self._stopping.set()
            self._stopped.wait(timeout=10)
        else:
            self._stopping.set()
            wasyncore.close_all(self._map)
            self.server.task_dispatcher.shutdown(timeout=5)
        if self._thread:
            self._thread.join(timeout=5)
        self.app.listener_runner.listener_executor.shutdown(wait=True)


def serve_socket_mode(app: App, app_token: str, on_connected: Callable[[], None] | None = None
                      ) -> None:
    """Connect out to Slack over a WebSocket (no public URL needed) and block.

    The connection comes from apps.connections.open at SLACK_API_URL with the app-level
    token; the client reconnects by itself when Slack rotates or drops the socket.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    handler.connect()
    if on_connected:
        on_connected()
    threading.Event().wait()
