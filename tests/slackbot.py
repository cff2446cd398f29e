"""The real bot in HTTP mode against the Slack emulator, for the handler and end-to-end tests.

`running_bot(services)` builds the app exactly as `argot serve --http` does (only the
Slack settings point at the emulator), serves it on a free port on 127.0.0.1, and
connects the emulator's signed event sender to it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from bot.app import build_app
from bot.playground.emulator import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackEmulator
from bot.services import Services
from bot.serving import HttpBot
from engine.types import Document
from tests.servers import wait_until

TEAM_KB = [
    Document("services/phoenix", "Project Phoenix is the rewrite of the billing platform. "
             "Phoenix replaces the old invoicing monolith and ships in the spring.",
             title="Project Phoenix", url="https://wiki.example/phoenix"),
    Document("runbooks/phoenix-cutover", "The Phoenix cutover runbook: how billing moves from "
             "the invoicing monolith to Phoenix, step by step.", title="Phoenix cutover runbook"),
    Document("teams/gtq", "The golden ticket queue (GTQ) holds customer escalations that skip "
             "the normal support line. The support leads own the golden ticket queue.",
             title="Golden ticket queue", source="kb/teams/gtq.md"),
    Document("glossary/bosun", "The bosun is the engineer on deploy duty this week; the bosun "
             "approves every production deploy.", title="Bosun"),
    Document("glossary/dogwatch", "Dogwatch is the short evening on-call shift between 6pm and "
             "10pm.", title="Dogwatch"),
    Document("glossary/barnacle", "A barnacle is a legacy service nobody dares to remove.",
             title="Barnacle"),
    Document("glossary/quay", "The quay is the staging environment where releases wait before "
             "production.", title="Quay"),
    Document("glossary/mooring", "Mooring is pinning a dependency to a known good version.",
             title="Mooring"),
    Document("glossary/slipway", "The slipway is the pipeline that builds release candidates.",
             title="Slipway"),
]


def load_team_kb(services: Services) -> None:
    services.ingestor().ingest(TEAM_KB)


@dataclass
class Bot:
    slack: SlackEmulator
    services: Services
    http: HttpBot

    @property
    def general(self) -> str:
        return self.slack.channel_id("general")

    def user(self, name: str) -> str:
        return member_id(self.slack, name)

    def ask(self, text: str, *, channel: str | None = None, user: str = "alice",
            count: int = 1, mention: bool = True) -> tuple[Any, list[dict[str, Any]]]:
        """Post a question as a person and wait for `count` bot replies in its thread."""
        channel = channel or self.general
        body = f"<@{BOT_USER_ID}> {text}" if mention else text
        delivery = self.slack.post_user_message(channel, self.user(user), body)
        assert delivery.status == 200, delivery.body
        replies = self.slack.wait_for_messages(channel, thread_ts=delivery.ts, count=count,
                                               user=BOT_USER_ID)
        return delivery, replies

    def eventually(self, predicate: Any, what: str, timeout: float = 10.0) -> Any:
        """Poll `predicate` (e.g. a feedback-store query, which the emulator cannot see
        change) until it is truthy."""
        return wait_until(predicate, what, timeout, interval=0.02)

    def settle(self, quiet: float = 0.4, timeout: float = 10.0) -> None:
        """Wait until the emulator has seen no change for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        revision, since = self.slack.revision, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.slack.revision != revision:
                revision, since = self.slack.revision, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise TimeoutError("the bot kept talking")


def member_id(slack: SlackEmulator, name: str) -> str:
    """The user id of `name` in the emulated workspace, added as a member if new."""
    try:
        return slack.user_id(name)
    except KeyError:
        return slack.add_user(name)


def payload(message: dict[str, Any]) -> dict[str, Any]:
    """The argot_answer metadata payload of a bot message (empty if it has none)."""
    metadata = message.get("metadata") or {}
    return metadata.get("event_payload", {}) if metadata.get("event_type") == "argot_answer" else {}


@contextmanager
def running_bot(services: Services, slack: SlackEmulator | None = None) -> Iterator[Bot]:
    own_slack = slack is None
    if slack is None:
        slack = SlackEmulator().start()
    settings = replace(services.settings, slack_bot_token=BOT_TOKEN,
                       slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url)
    http = HttpBot(build_app(settings, services), host="127.0.0.1", port=0).start()
    slack.connect(http.events_url, SIGNING_SECRET)
    try:
        yield Bot(slack, services, http)
    finally:
        http.stop()
        if own_slack:
            slack.stop()


class RecordingClient:
    """Stands in for slack_sdk's WebClient in handler unit tests: records every call."""

    def __init__(self, private_channels: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.private_channels = private_channels
        self._ts = 1000

    def _record(self, method: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((method, kwargs))

    def posted(self) -> list[dict[str, Any]]:
        return [kwargs for method, kwargs in self.calls if method == "chat.postMessage"]

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self._record("chat.postMessage", kwargs)
        self._ts += 1
        return {"ok": True, "channel": kwargs["channel"], "ts": f"{self._ts}.000100"}

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self._record("chat.postEphemeral", kwargs)
        return {"ok": True, "message_ts": "1.0"}

    def conversations_info(self, **kwargs: Any) -> dict[str, Any]:
        self._record("conversations.info", kwargs)
        channel = kwargs["channel"]
        return {"ok": True, "channel": {"id": channel, "is_private": channel in self.private_channels}}


def bolt_context(services: Services) -> Any:
    """The context a callback gets inside the app: the services, and who the bot is."""
    from slack_bolt import BoltContext

    from handlers.context import Shared

    return BoltContext({"argot": Shared(services), "bot_user_id": BOT_USER_ID, "bot_id": "BBOT"})


def mention_event(text: str, *, channel: str = "C1", user: str = "U1", ts: str = "100.000001",
                  event_id: str = "Ev1", **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body, event) of an app_mention as Slack delivers it."""
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
             "channel": channel, "event_ts": ts, **extra}
    return {"type": "event_callback", "event_id": event_id, "event": event}, event
