"""Running the Bolt app: HTTP mode (`POST /slack/events`) or Socket Mode.

HTTP mode serves Bolt's WSGI adapter from a threading WSGI server of the standard
library: each request is verified (signature and age) and acknowledged on its own
thread, while lazy listeners do the work on the app's listener pool.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger("argot.serve")

EVENTS_PATH = "/slack/events"


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s - %s", self.address_string(), format % args)


def wsgi_app(app: App) -> Any:
    """Bolt at POST /slack/events, plus GET /healthz for load balancers and tests."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return slack(environ, start_response)

    return application


class HttpBot:
    """The app listening on host:port; `port=0` picks a free one (tests)."""

    def __init__(self, app: App, host: str = "0.0.0.0", port: int = 3000) -> None:
        self.app = app
        self.server = make_server(host, port, wsgi_app(app), server_class=ThreadingWSGIServer,
                                  handler_class=QuietHandler)
        self.host, self.port = host, self.server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def events_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}{EVENTS_PATH}"

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> HttpBot:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="argot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking events, then let the answers already being worked on finish."""
        self.server.shutdown()
        self.server.server_close()
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
