"""`argot serve --http` under attack: huge unsigned bodies, slow clients, forged timestamps."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from slack_bolt import App

from bot.serving import HttpBot

SECRET = "not-the-real-secret"


@pytest.fixture
def bot() -> Iterator[HttpBot]:
    app = App(token="xoxb-test", signing_secret=SECRET, token_verification_enabled=False)
    served = HttpBot(app, host="127.0.0.1", port=0, request_deadline_s=2, workers=2).start()
    yield served
    served.stop()


def _connect(bot: HttpBot) -> socket.socket:
    return socket.create_connection(("127.0.0.1", bot.port), timeout=10)


def _status(sock: socket.socket) -> str:
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply.split(b"\r\n", 1)[0].decode()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_50_mb_unsigned_body_is_refused_with_413_before_it_is_read(bot: HttpBot) -> None:
    before = _peak_rss_mb()
    sock = _connect(bot)
    sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 52428800\r\n\r\n")
    sent, chunk = 0, b"x" * 65536
    try:
        while sent < 50 * 1024 * 1024:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server hung up on us: what we want
    assert _status(sock) == "HTTP/1.1 413 Request Entity Too Large"
    sock.close()
    assert sent < 50 * 1024 * 1024, "the server kept reading a 50 MB body"
    assert _peak_rss_mb() - before < 20


def test_a_chunked_body_is_cut_off_at_the_cap(bot: HttpBot) -> None:
    sock = _connect(bot)
    sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nTransfer-Encoding: chunked\r\n\r\n")
    try:
        for _ in range(64):
            sock.sendall(b"10000\r\n" + b"x" * 65536 + b"\r\n")
    except OSError:
        pass
    assert _status(sock) == "HTTP/1.1 413 Request Entity Too Large"
    sock.close()


def test_a_slow_client_is_cut_off_and_does_not_hold_a_worker(bot: HttpBot) -> None:
    slow = [_connect(bot) for _ in range(5)]  # more slow clients than workers
    for sock in slow:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\n")
    started = time.monotonic()
    assert httpx.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=2).text == "ok"
    closed_after = []
    for sock in slow:
        sock.settimeout(0.5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                sock.send(b"x")  # a byte at a time: never idle, never done
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        closed_after.append(time.monotonic() - started)
        sock.close()
    assert max(closed_after) < 10, f"slow clients held on for {closed_after}"


@pytest.mark.parametrize("timestamp", ["yesterday", "", "1e9", "-5"])
def test_a_malformed_timestamp_gets_a_clean_401(bot: HttpBot, timestamp: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    reply = httpx.post(bot.events_url, content=b'{"type": "url_verification", "challenge": "c"}',
                       headers={"Content-Type": "application/json", "X-Slack-Signature": "v0=00",
                                "X-Slack-Request-Timestamp": timestamp})
    assert reply.status_code == 401
    assert "Traceback" not in caplog.text


def test_the_bot_listens_on_loopback_unless_told_otherwise() -> None:
    from bot.cli import build_parser

    args = build_parser().parse_args(["serve", "--http"])
    assert args.host == "127.0.0.1"


def test_stopping_never_fails_when_the_loop_closes_first() -> None:
    app = App(token="xoxb-test", signing_secret=SECRET, token_verification_enabled=False)
    served = HttpBot(app, host="127.0.0.1", port=0).start()
    wake = served.server.pull_trigger

    def late_wake() -> None:  # the loop gets every chance to close before the wake-up
        served._stopped.wait(timeout=1)
        wake()

    served.server.pull_trigger = late_wake  # type: ignore[method-assign]
    served.stop()

    assert served._stopped.is_set()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{served.port}/", timeout=2)
