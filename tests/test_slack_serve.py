"""`argot serve`: clear start-up errors, and the whole serve path answering the emulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.playground.emulator import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackEmulator
from bot.services import Services
from bot.serving import HttpBot
from tests.fakes import FakeEmbedder
from tests.slackbot import TEAM_KB, payload


def test_serve_without_a_bot_token_names_it(home: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve"]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


def test_serve_without_app_token_needs_a_signing_secret(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    assert main(["serve"]) == 2
    assert "SLACK_SIGNING_SECRET is not set" in capsys.readouterr().err


def test_serve_with_a_refused_token_says_so(
        home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    with SlackEmulator() as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-the-right-one")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        assert main(["serve", "--http", "--no-jobs", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN was refused" in err and "invalid_auth" in err
    assert "xoxb-not-the-right-one" not in err


def test_argot_serve_http_answers_a_mention(
        settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole `argot serve --http` path, in a thread, with the fake embedder."""
    Services(settings, base_embedder=fake_embedder).ingestor().ingest(TEAM_KB)
    monkeypatch.setattr("engine.embedders.build_text_embedder", lambda *a, **k: fake_embedder)
    listening: list[HttpBot] = []
    serve = HttpBot.serve_forever
    monkeypatch.setattr(HttpBot, "serve_forever",
                        lambda bot: (listening.append(bot), serve(bot)))
    with SlackEmulator() as slack:
        for name, value in (("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_API_URL", slack.api_url),
                            ("SLACK_SIGNING_SECRET", SIGNING_SECRET), ("ARGOT_CLIP_MODEL", "none")):
            monkeypatch.setenv(name, value)
        exit_code: list[int] = []
        thread = threading.Thread(target=lambda: exit_code.append(main(
            ["serve", "--http", "--host", "127.0.0.1", "--port", "0"])), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not listening:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.05)
        try:
            slack.connect(listening[0].events_url, SIGNING_SECRET)
            general = slack.channel_id("general")
            asked = slack.post_user_message(general, slack.user_id("alice"),
                                            f"<@{BOT_USER_ID}> who owns the golden ticket queue?")
            [answer, *_] = slack.wait_for_messages(general, asked.ts, timeout=20)
            assert payload(answer)["doc_id"] == "teams/gtq"
        finally:
            listening[0].stop()
            thread.join(timeout=10)
    assert exit_code == [0]


def test_socket_mode_with_a_refused_app_token_says_so(
        home: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr("engine.embedders.build_text_embedder", lambda *a, **k: fake_embedder)
    with SlackEmulator() as slack:
        for name, value in (("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_API_URL", slack.api_url),
                            ("SLACK_APP_TOKEN", "xapp-not-known"), ("ARGOT_CLIP_MODEL", "none")):
            monkeypatch.setenv(name, value)
        assert main(["serve", "--no-jobs"]) == 2
        assert slack.calls_to("apps.connections.open")
    err = capsys.readouterr().err
    assert "SLACK_APP_TOKEN was refused by Slack" in err and "xapp-not-known" not in err


def test_socket_mode_acknowledges_and_answers_in_the_thread(services: Services) -> None:
    from dataclasses import replace

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app
    from bot.playground.emulator import payloads
    from tests.socketmode import SocketModeEndpoint

    services.ingestor().ingest(TEAM_KB)
    with SlackEmulator() as slack:
        endpoint = SocketModeEndpoint(slack)
        settings = replace(services.settings, slack_bot_token=BOT_TOKEN,
                           slack_app_token="xapp-1-test", slack_api_url=slack.api_url)
        handler = SocketModeHandler(build_app(settings, services), settings.slack_app_token)
        try:
            handler.connect()
            assert endpoint.connected.wait(10)
            general = slack.channel_id("general")
            asked = slack.post_user_message(general, slack.user_id("alice"),
                                            f"<@{BOT_USER_ID}> what is project phoenix?",
                                            deliver=False)
            event = payloads.message_event(asked.message, general, "app_mention")
            assert endpoint.send_event(payloads.envelope(event))
            [answer, *_] = slack.wait_for_messages(general, asked.ts, timeout=20)
            assert payload(answer)["doc_id"] == "services/phoenix"
        finally:
            handler.close()
            endpoint.close()
