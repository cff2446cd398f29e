"""A stand-in for Slack's Socket Mode endpoint, for the one test that runs the bot that way.

The emulator (bot/playground/emulator/) speaks the Web API and the HTTP Events API but not Socket
Mode, so this small helper adds what Socket Mode needs: `apps.connections.open` on the
emulator, answering with a ws:// URL, and a WebSocket server there that says hello,
sends envelopes and collects the bot's acknowledgements.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

from websockets.sync.server import ServerConnection, serve

from bot.playground.emulator import HttpRequest, HttpResponse, SlackEmulator


class SocketModeEndpoint:
    def __init__(self, slack: SlackEmulator) -> None:
        self.server = serve(self._session, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"
        self._outbox: queue.Queue[str] = queue.Queue()
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        slack.add_route("POST", "/api/apps.connections.open", self._open)

    def _open(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json({"ok": True, "url": self.url})

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                    "debug_info": {"host": "emulator"}}))
        self.connected.set()
        while True:
            try:
                outgoing = self._outbox.get(timeout=0.05)
                connection.send(outgoing)
            except queue.Empty:
                pass
            try:
                incoming = connection.recv(timeout=0.01)
            except TimeoutError:
                continue
            except Exception:  # the bot closed the socket
                return
            self.acks.put(json.loads(incoming))

    def send_event(self, payload: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """Push one Events API payload down the socket; return the bot's ack."""
        envelope_id = str(uuid.uuid4())
        self._outbox.put(json.dumps({"envelope_id": envelope_id, "type": "events_api",
                                     "accepts_response_payload": False, "retry_attempt": 0,
                                     "retry_reason": "", "payload": payload}))
        ack = self.acks.get(timeout=timeout)
        assert ack["envelope_id"] == envelope_id, ack
        return ack

    def close(self) -> None:
        self.server.shutdown()
