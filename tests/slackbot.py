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
from bot.emulator import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackEmulator
from bot.services import Services
from bot.serving import HttpBot
from engine.types import Document

TEAM_KB = [
    Document("services/phoenix", "Project Phoenix is the rewrite of the billing platform. "
             "Phoenix replaces the old invoicing monolith and ships in the spring.",
             title="Project Phoenix", url="https://wiki.example/phoenix"),
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
        try:
            return self.slack.user_id(name)
        except KeyError:
            return self.slack.add_user(name)

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

    def settle(self, quiet: float = 0.4, timeout: float = 10.0) -> None:
        """Wait until the emulator has seen no change for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        version, since = self.slack.version, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.slack.version != version:
                version, since = self.slack.version, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise TimeoutError("the bot kept talking")


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
