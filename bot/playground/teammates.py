"""Simulated teammates: people who ask the bot in a channel and rate what it shows.

They are what the playground's "Let the team rate" step and the jargon benchmark
(bench/jargon_slack.py) use, and they go through Slack exactly as people do: a mention
in the channel, reactions, a reply in the thread (all through the emulator, which sends
the bot the signed events Slack would).

A teammate knows the right documents of a question and rates as the issue's simulated
people do: 👍 on the best match if it is right; otherwise 👎 on it, and when the bot then
posts its alternatives, 👍 on the first right document among everything it has shown.
A teammate who *replies* (`Teammates(replies=share)`: that share of people, chosen by a
stable hash of person and question) also does what the bot asks when nothing shown is
right: 👎 on every alternative too, then, when the bot asks "Know the right page?", a
reply in the thread with the right document's id, which the bot records as a 👍.

Example:
    >>> team = Teammates(slack, "general", replies=0.5)
    >>> team.ask_and_rate("ben", "what does the tollbooth do?", ["services/tollgate"]).outcome
    'alternative'
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.playground.emulator import BOT_USER_ID, SlackEmulator
from engine.learning.trainingdata import stable_fraction
from handlers.rightpage import ASK

SETTLE_SECONDS = 0.3
"""The bot posts a question's answers one after the other: quiet this long means done."""
OUTCOMES = ("best", "alternative", "replied", "none")


def answer_payload(message: dict[str, Any]) -> dict[str, Any]:
    """What the bot attached to one of its answers (doc id, rank), or {} for other messages."""
    metadata = message.get("metadata") or {}
    return metadata.get("event_payload", {}) if metadata.get("event_type") == "argot_answer" else {}


@dataclass(frozen=True)
class Asked:
    question: str
    person: str
    outcome: str
    """"best" (👍 on the best match), "alternative" (👎, then 👍 a right one shown), "replied"
    (everything shown 👎, then the right page's id replied when the bot asked), "none"."""
    shown: tuple[str, ...]
    votes: int
    """Votes the bot records for what this person did (the wait for them uses it)."""


class Teammates:
    """Simulated people in one emulated workspace, asking in one channel."""

    def __init__(self, slack: SlackEmulator, channel: str = "general", *, replies: float = 0.0,
                 timeout: float = 180.0) -> None:
        self.slack, self.replies, self.timeout = slack, replies, timeout
        self.channel = slack.channel_id(channel)

    def person(self, name: str) -> str:
        try:
            return self.slack.user_id(name)
        except KeyError:
            return self.slack.add_user(name, real_name=name.capitalize())

    def replies_with_page(self, name: str, question: str) -> bool:
        return stable_fraction("reply", name, question) < self.replies

    def settle(self) -> None:
        revision, since = self.slack.revision, time.monotonic()
        deadline = since + self.timeout
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.slack.revision != revision:
                revision, since = self.slack.revision, time.monotonic()
            elif time.monotonic() - since >= SETTLE_SECONDS:
                return
        raise TimeoutError("the bot kept posting")

    def bot_messages(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(self.channel, ts) if m["user"] == BOT_USER_ID]

    def answers(self, ts: str) -> list[dict[str, Any]]:
        return sorted((m for m in self.bot_messages(ts) if answer_payload(m)),
                      key=lambda m: answer_payload(m)["rank"])

    def ask_and_rate(self, name: str, question: str, relevant: Sequence[str]) -> Asked:
        user, slack = self.person(name), self.slack
        asked = slack.post_user_message(self.channel, user, f"<@{BOT_USER_ID}> {question}")
        if asked.status != 200:
            raise RuntimeError(f"the bot refused a question ({asked.status}): {asked.body}")
        slack.wait_for_messages(self.channel, asked.ts, count=1, user=BOT_USER_ID, timeout=self.timeout)
        self.settle()
        answers = self.answers(asked.ts)
        if not answers:
            return Asked(question, name, "none", (), 0)
        if answer_payload(answers[0])["doc_id"] in relevant:
            slack.add_reaction(user, self.channel, answers[0]["ts"], "+1")
            return Asked(question, name, "best", (answer_payload(answers[0])["doc_id"],), 1)
        before = len(self.bot_messages(asked.ts))
        slack.add_reaction(user, self.channel, answers[0]["ts"], "-1")
        slack.wait_for_messages(self.channel, asked.ts, count=before + 1, user=BOT_USER_ID,
                                timeout=self.timeout)
        self.settle()
        answers = self.answers(asked.ts)
        shown = tuple(answer_payload(a)["doc_id"] for a in answers)
        right = next((a for a in answers[1:] if answer_payload(a)["doc_id"] in relevant), None)
        if right is not None:
            slack.add_reaction(user, self.channel, right["ts"], "+1")
            return Asked(question, name, "alternative", shown, 2)
        if not self.replies_with_page(name, question):
            return Asked(question, name, "none", shown, 1)
        return self.reply_with_page(user, name, question, asked.ts, answers[1:], relevant, shown)

    def reply_with_page(self, user: str, name: str, question: str, ts: str,
                        others: Sequence[dict[str, Any]], relevant: Sequence[str],
                        shown: tuple[str, ...]) -> Asked:
        """👎 on every other answer shown, then the right page's id when the bot asks for it."""
        slack = self.slack
        for answer in others:
            slack.add_reaction(user, self.channel, answer["ts"], "-1")
        slack.wait_for(lambda: any(m.get("text") == ASK for m in self.bot_messages(ts)),
                       timeout=self.timeout, what="the bot's right-page question")
        before = len(self.bot_messages(ts))
        slack.post_user_message(self.channel, user, f"it's `{sorted(relevant)[0]}`", thread_ts=ts)
        slack.wait_for_messages(self.channel, ts, count=before + 1, user=BOT_USER_ID, timeout=self.timeout)
        self.settle()
        return Asked(question, name, "replied", shown, 2 + len(others))


def wait_for_votes(feedback: Any, expected: int, timeout: float = 120.0) -> int:
    """Until the bot has stored `expected` votes (reactions are recorded asynchronously)."""
    deadline = time.monotonic() + timeout
    while (found := feedback.vote_count()) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{found} of {expected} votes reached the feedback store")
        time.sleep(0.2)
    return found
