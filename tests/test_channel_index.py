"""Indexing a channel: history and threads page by page, 429s waited out, incremental,
resumable after a crash midway, private channels kept private. Against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.channelindex import index_channel
from bot.playground.emulator import BOT_TOKEN, BOT_USER_ID, SlackEmulator
from bot.services import Services
from bot.slack_client import build_client
from engine.conversations import ConversationState
from tests.slackbot import payload, running_bot

TOPICS = ["Nightjar", "Kestrel", "Osprey", "Merlin", "Harrier", "Peregrine"]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def client_for(slack: SlackEmulator, services: Services) -> WebClient:
    return build_client(replace(services.settings, slack_bot_token=BOT_TOKEN,
                                slack_api_url=slack.api_url))


def fill(slack: SlackEmulator, channel: str, topics: list[str] = TOPICS) -> list[str]:
    """One thread per topic, plus the noise a real channel has."""
    alice, bob = slack.user_id("alice"), slack.user_id("bob")
    roots = []
    for topic in topics:
        slack.post_notice(channel, bob, "channel_join")
        root = slack.post_user_message(channel, alice, f"What does {topic} do for us?").ts
        slack.post_user_message(channel, bob, f"{topic} is the service that handles "
                                f"{topic.lower()} jobs for the billing team.", thread_ts=root,
                                deliver=False)
        slack.post_bot_message(channel, "Best match: something", thread_ts=root)
        slack.post_user_message(channel, alice, "thanks!")
        roots.append(root)
    return roots


def documents(services: Services) -> set[str]:
    return {d for d in services.index().document_ids() if d.startswith("slack/")}


def no_sleep(seconds: float) -> None:
    pass


def test_a_channel_becomes_one_document_per_thread_without_the_noise(
        slack: SlackEmulator, services: Services) -> None:
    general = slack.channel_id("general")
    roots = fill(slack, general)
    run = index_channel(client_for(slack, services), services, general, sleep=no_sleep)
    assert documents(services) == {f"slack/{general}/{ts}" for ts in roots}
    assert run.threads == len(TOPICS) and len(run.added) == len(TOPICS)
    text = services.index().chunks_of(f"slack/{general}/{roots[0]}")[0][0].text
    assert "Nightjar is the service" in text and "Best match" not in text
    assert "has joined" not in text


def test_history_is_read_page_by_page_and_a_429_is_waited_out(
        slack: SlackEmulator, services: Services) -> None:
    general = slack.channel_id("general")
    for n in range(210):
        slack.post_user_message(general, slack.user_id("bob"), f"ok {n}")
    roots = fill(slack, general, TOPICS[:2])
    slack.fail_next("conversations.history", 429, retry_after=1, times=5)
    waits: list[float] = []
    index_channel(client_for(slack, services), services, general, sleep=waits.append)
    assert documents(services) == {f"slack/{general}/{ts}" for ts in roots}
    pages = [c for c in slack.calls_to("conversations.history")]
    assert len(pages) >= 5 + 2 and any(c.params.get("cursor") for c in pages)
    assert waits and all(w == 1.0 for w in waits)  # the client's own retries took the rest


def test_a_second_run_reads_only_what_is_new(slack: SlackEmulator, services: Services) -> None:
    general = slack.channel_id("general")
    fill(slack, general, TOPICS[:3])
    client = client_for(slack, services)
    index_channel(client, services, general, sleep=no_sleep)
    slack.clear_calls()
    [new_root] = fill(slack, general, ["Condor"])
    run = index_channel(client, services, general, sleep=no_sleep)
    assert run.added == [f"slack/{general}/{new_root}"]
    assert [c.params["ts"] for c in slack.calls_to("conversations.replies")] == [new_root]


class Crash(BaseException):
    """The process dies (not an error anyone catches)."""


class CrashingClient(WebClient):
    """Dies on the n-th thread it reads, as a killed process would."""

    def __init__(self, crash_on: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.crash_on, self.read = crash_on, 0

    def conversations_replies(self, **kwargs: Any) -> Any:  # type: ignore[override]
        self.read += 1
        if self.read == self.crash_on:
            raise Crash()
        return super().conversations_replies(**kwargs)


def test_a_run_killed_midway_resumes_after_what_it_stored(
        slack: SlackEmulator, services: Services) -> None:
    general = slack.channel_id("general")
    roots = fill(slack, general)
    crashing = CrashingClient(5, token=BOT_TOKEN, base_url=slack.api_url)
    with pytest.raises(Crash):
        index_channel(crashing, services, general, batch=2, sleep=no_sleep)
    assert documents(services) == {f"slack/{general}/{ts}" for ts in roots[:4]}
    assert ConversationState.of(services.feedback).channel(general).running_until == roots[3]
    slack.clear_calls()
    run = index_channel(client_for(slack, services), services, general, batch=2, sleep=no_sleep)
    assert run.resumed_after == roots[3]
    assert [c.params["ts"] for c in slack.calls_to("conversations.replies")] == roots[4:]
    assert documents(services) == {f"slack/{general}/{ts}" for ts in roots}
    state = ConversationState.of(services.feedback).channel(general)
    newest = slack.messages(general)[-1]["ts"]  # the last "thanks!": read, not indexed
    assert state.done_until == newest and state.running_until == ""


def test_a_private_channel_stays_private(slack: SlackEmulator, services: Services) -> None:
    secret = slack.add_channel("payments-core", private=True,
                               members=[slack.user_id("alice"), slack.user_id("bob")])
    [root] = fill(slack, secret, ["Nightjar"])
    index_channel(client_for(slack, services), services, secret, sleep=no_sleep)
    retriever = services.retriever()
    assert retriever.search("what is nightjar?", 3, channel=secret)[0].doc_id == f"slack/{secret}/{root}"
    assert all(h.doc_id != f"slack/{secret}/{root}"
               for h in retriever.search("what is nightjar?", 3, channel=slack.channel_id("general")))


def test_argot_index_in_slack_reads_the_channel_and_answers_from_it(services: Services) -> None:
    with running_bot(services) as bot:
        general = bot.general
        [root] = fill(bot.slack, general, ["Nightjar"])
        alice = bot.user("alice")
        bot.slack.slash_command(alice, general, "/argot", "index #general")
        done = bot.slack.wait_for(lambda: [e for e in bot.slack.ephemerals(general, alice)
                                           if e["text"].startswith("Indexed")], what="the outcome")
        assert "1 new" in done[0]["text"]
        _, [best, *_] = bot.ask("what is nightjar?")
        assert payload(best)["doc_id"] == f"slack/{general}/{root}"


def test_argot_index_on_a_channel_without_the_bot_says_to_invite_it(services: Services) -> None:
    with running_bot(services) as bot:
        closed = bot.slack.add_channel("leadership", members=[bot.user("alice")])
        bot.slack.remove_bot_from(closed)
        bot.slack.slash_command(bot.user("alice"), bot.general, "/argot", f"index <#{closed}|leadership>")
        said = bot.slack.wait_for(lambda: [e for e in bot.slack.ephemerals(bot.general)
                                           if "invite me" in e["text"]], what="the refusal")
        assert f"<#{closed}>" in said[0]["text"]
        assert not documents(services)


def test_argot_ingest_slack_channel_from_the_command_line(
        slack: SlackEmulator, services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.channelindex import cli_ingest

    general = slack.channel_id("general")
    fill(slack, general, ["Nightjar", "Kestrel"])
    services.settings = replace(services.settings, slack_bot_token=BOT_TOKEN,
                                slack_api_url=slack.api_url)
    lines: list[str] = []
    assert cli_ingest([f"slack://{general}"], services, lines.append) == 0
    assert lines[-1] == f"{general}: 2 threads read, 2 added, 0 updated; 4 messages skipped"
    assert cli_ingest(["slack://nope"], services, lines.append) == 1
    assert BOT_USER_ID not in lines[-1]


@pytest.mark.slow
def test_argot_ingest_slack_url_on_the_command_line_then_argot_ask(
        slack: SlackEmulator, home) -> None:  # noqa: ANN001 - the conftest fixture
    import os
    import subprocess
    import sys

    general = slack.channel_id("general")
    [root] = fill(slack, general, ["Nightjar"])
    env = {**os.environ, "ARGOT_HOME": str(home), "HF_HUB_OFFLINE": "1", "ARGOT_CLIP_MODEL": "none",
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url}

    def argot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                              text=True, env=env, timeout=300, cwd=home.parent)

    ingested = argot("ingest", f"slack://{general}")
    assert ingested.returncode == 0, ingested.stderr
    assert f"{general}: 1 threads read, 1 added" in ingested.stderr + ingested.stdout
    asked = argot("ask", "what is nightjar?", "--json")
    assert f"slack/{general}/{root}" in asked.stdout
    mixed = argot("ingest", f"slack://{general}", "docs/")
    assert mixed.returncode == 2 and "on their own" in mixed.stderr + mixed.stdout


def test_a_new_reply_to_a_recent_thread_is_read_on_the_next_run(
        slack: SlackEmulator, services: Services) -> None:
    general = slack.channel_id("general")
    roots = fill(slack, general, TOPICS[:3])
    client = client_for(slack, services)
    index_channel(client, services, general, sleep=no_sleep)
    slack.clear_calls()
    slack.post_user_message(general, slack.add_user("carol"), "Kestrel moved to the data team "
                            "in May.", thread_ts=roots[1], deliver=False)
    run = index_channel(client, services, general, sleep=no_sleep)
    assert run.updated == [f"slack/{general}/{roots[1]}"] and run.added == []
    assert [c.params["ts"] for c in slack.calls_to("conversations.replies")] == [roots[1]]
    text = " ".join(c.text for c, _ in services.index().chunks_of(f"slack/{general}/{roots[1]}"))
    assert "data team" in text

