"""The jargon benchmark's Slack path: the real `argot serve --http` against the emulator,
simulated people who ask and rate, and the real `argot train --json`.

A person asks in #general (a mention) and rates what the bot shows, knowing the right
documents: 👍 on the best match if it is right; otherwise 👎 on it, and when the bot then
posts its alternatives, 👍 on the first right document among everything it has shown.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.slackbench import argot, free_port
from bot.playground.emulator import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackEmulator

SETTLE_SECONDS = 0.3
"""The bot posts a question's answers one after the other: quiet this long means done."""


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the bot and of `argot train`: this one's, with ARGOT_HOME set.

    ARGOT_* settings of the caller pass through (a lever is tried by setting its variable
    for the benchmark); Slack settings are the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(ARGOT_HOME=str(home), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               ARGOT_CLIP_MODEL="none", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               ANONYMIZED_TELEMETRY="False", **extra)
    return env


@contextmanager
def serving(home: Path, log_path: Path) -> Iterator[SlackEmulator]:
    """An emulated workspace with `argot serve --http --no-jobs` answering in it."""
    with SlackEmulator() as slack:
        port = free_port()
        command = argot("serve", "--http", "--no-jobs", "--host", "127.0.0.1", "--port", str(port))
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=env_for(home, SLACK_API_URL=slack.api_url),
                                       cwd=home, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(process, port, log_path)
                slack.connect(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
                yield slack
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_healthy(process: subprocess.Popen, port: int, log_path: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"argot serve exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"argot serve did not come up in {timeout:.0f} s; see {log_path}")
        time.sleep(0.3)


def payload(message: dict[str, Any]) -> dict[str, Any]:
    metadata = message.get("metadata") or {}
    return metadata.get("event_payload", {}) if metadata.get("event_type") == "argot_answer" else {}


@dataclass(frozen=True)
class Asked:
    question: str
    person: str
    outcome: str
    """"best" (👍 on the best match), "alternative" (👎, then 👍 a right one shown), "none"."""
    shown: tuple[str, ...]
    votes: int


class Team:
    """Simulated people in one emulated workspace, asking in #general."""

    def __init__(self, slack: SlackEmulator, timeout: float = 180.0) -> None:
        self.slack, self.timeout = slack, timeout
        self.general = slack.channel_id("general")

    def person(self, name: str) -> str:
        try:
            return self.slack.user_id(name)
        except KeyError:
            return self.slack.add_user(name)

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
        return [m for m in self.slack.messages(self.general, ts) if m["user"] == BOT_USER_ID]

    def answers(self, ts: str) -> list[dict[str, Any]]:
        return sorted((m for m in self.bot_messages(ts) if payload(m)), key=lambda m: payload(m)["rank"])

    def ask_and_rate(self, name: str, question: str, relevant: Sequence[str]) -> Asked:
        user, slack = self.person(name), self.slack
        asked = slack.post_user_message(self.general, user, f"<@{BOT_USER_ID}> {question}")
        if asked.status != 200:
            raise RuntimeError(f"the bot refused a question ({asked.status}): {asked.body}")
        slack.wait_for_messages(self.general, asked.ts, count=1, user=BOT_USER_ID, timeout=self.timeout)
        self.settle()
        answers = self.answers(asked.ts)
        if not answers:
            return Asked(question, name, "none", (), 0)
        if payload(answers[0])["doc_id"] in relevant:
            slack.add_reaction(user, self.general, answers[0]["ts"], "+1")
            return Asked(question, name, "best", (payload(answers[0])["doc_id"],), 1)
        before = len(self.bot_messages(asked.ts))
        slack.add_reaction(user, self.general, answers[0]["ts"], "-1")
        slack.wait_for_messages(self.general, asked.ts, count=before + 1, user=BOT_USER_ID,
                                timeout=self.timeout)
        self.settle()
        answers = self.answers(asked.ts)
        shown = tuple(payload(a)["doc_id"] for a in answers)
        right = next((a for a in answers[1:] if payload(a)["doc_id"] in relevant), None)
        if right is None:
            return Asked(question, name, "none", shown, 1)
        slack.add_reaction(user, self.general, right["ts"], "+1")
        return Asked(question, name, "alternative", shown, 2)


def wait_for_votes(feedback: Any, expected: int, timeout: float = 120.0) -> int:
    """Until the bot has stored `expected` votes (reactions are recorded asynchronously)."""
    deadline = time.monotonic() + timeout
    while (found := feedback.vote_count()) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{found} of {expected} votes reached the feedback store")
        time.sleep(0.2)
    return found


def train(home: Path, log_path: Path) -> tuple[dict[str, Any], float]:
    """`argot train --json` as a user runs it: (its report, wall seconds)."""
    started = time.perf_counter()
    with log_path.open("w") as log:
        done = subprocess.run(argot("train", "--json"), env=env_for(home), cwd=home,
                              stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"argot train printed no report (exit {done.returncode}); see {log_path}")
    return json.loads(lines[-1]), seconds
