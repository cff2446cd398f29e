"""The playground under attack from other web pages the visitor has open: forged
cross-site POSTs, DNS rebinding (a foreign Host), and the emulator's Web API token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.playground import Playground
from bot.playground.demo import demo_settings
from bot.playground.emulator import BOT_TOKEN
from bot.services import Services
from bot.settings import Settings
from tests.slackbot import load_team_kb

EVIL = "https://evil.example"


@pytest.fixture(autouse=True)
def no_image_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARGOT_CLIP_MODEL", "none")


@pytest.fixture
def playground(services: Services) -> Iterator[Playground]:
    load_team_kb(services)
    with Playground(services) as running:
        yield running


@pytest.fixture
def page(playground: Playground) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=playground.url, timeout=15) as client:
        yield client


def bot_messages(playground: Playground) -> list[dict]:
    return [m for m in playground.slack.channel_history(playground.channel) if m.get("user") == "UBOT"]


@pytest.mark.parametrize("path, body", [("ask", '{"text": "<!channel> what is phoenix"}'),
                                        ("react", '{"ts": "1.0", "name": "+1"}'),
                                        ("learn", "{}")])
def test_a_cross_site_text_plain_post_is_refused(page: httpx.Client, playground: Playground,
                                                 path: str, body: str) -> None:
    """What a form or fetch on another site can send without a CORS preflight."""
    forged = page.post(f"/playground/api/{path}", content=body,
                       headers={"Content-Type": "text/plain", "Origin": EVIL})
    assert forged.status_code == 403
    no_origin = page.post(f"/playground/api/{path}", content=body, headers={"Content-Type": "text/plain"})
    assert no_origin.status_code == 415  # a simple request: never JSON
    assert playground.slack.channel_history(playground.channel) == []
    assert playground.learning.state()["state"] != "running"


def test_a_cross_site_json_post_is_refused(page: httpx.Client, playground: Playground) -> None:
    forged = page.post("/playground/api/ask", json={"text": "what is phoenix"},
                       headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert playground.slack.channel_history(playground.channel) == []


def test_a_forged_upload_is_refused(page: httpx.Client, playground: Playground) -> None:
    forged = page.post("/playground/api/upload", params={"name": "x.png"}, content=b"\x89PNG....",
                       headers={"Content-Type": "text/plain"})
    assert forged.status_code == 415
    assert playground.slack.channel_history(playground.channel) == []


@pytest.mark.parametrize("path", ["/", "/playground/api/channel", "/playground/api/learn"])
def test_a_foreign_host_is_refused(page: httpx.Client, playground: Playground, path: str) -> None:
    """DNS rebinding: evil.example now resolves to 127.0.0.1; the browser sends its Host."""
    rebound = page.get(path, headers={"Host": f"evil.example:{playground.slack.server.port}"})
    assert rebound.status_code == 403
    assert page.get(path).status_code == 200


def test_the_pages_own_origin_still_works(page: httpx.Client, playground: Playground) -> None:
    own = playground.url.rstrip("/")
    answer = page.post("/playground/api/ask", json={"text": "what is project phoenix?"},
                       headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 200, answer.text
    assert playground.slack.wait_for_messages(playground.channel, answer.json()["ts"], user="UBOT")


def test_the_emulators_web_api_token_is_drawn_for_each_run(page: httpx.Client,
                                                           playground: Playground,
                                                           services: Services) -> None:
    post = {"channel": playground.channel, "text": "<!channel> free pizza"}
    forged = page.post("/api/chat.postMessage", data=post,
                       headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert forged.json()["ok"] is False and bot_messages(playground) == []
    assert playground.bot_token != BOT_TOKEN and len(playground.bot_token) > 30
    with Playground(services) as other:
        assert other.bot_token != playground.bot_token


def test_the_demo_keeps_to_a_home_of_its_own(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://argot@db.internal/argot")
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal")
    settings = demo_settings(Settings.load())
    assert settings.home == home / "demo"
    assert settings.db_url == f"sqlite:///{home / 'demo' / 'argot.db'}"
    assert settings.chroma_host is None
    told = demo_settings(Settings.load(), own_home=False)
    assert told.home == home and told.database_url == "postgresql://argot@db.internal/argot"
