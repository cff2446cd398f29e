"""`/argot` under attack: replayed commands, overwritten glossary entries, HTML entities."""

from __future__ import annotations

import json
from typing import Any

from bot.services import Services
from handlers.commands import parse, run
from tests.slackbot import RecordingClient, bolt_context


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def command(text: str, user: str = "U1", trigger: str | None = None) -> dict[str, Any]:
    found = {"command": "/argot", "text": text, "channel_id": "C1", "user_id": user,
             "response_url": "http://127.0.0.1:9/response/x"}
    return {**found, "trigger_id": trigger} if trigger else found


def test_a_replayed_command_runs_once(services: Services) -> None:
    respond = Recorder()
    replayed = command("define Zorblax: the launch codename", trigger="13345224609.738474.abc")
    for _ in range(3):
        run(replayed, bolt_context(services), RecordingClient(), respond)
    assert len(respond.calls) == 1


def test_overwriting_someone_elses_entry_keeps_the_history_and_says_who(services: Services) -> None:
    run(command("define GTQ: the golden ticket queue", user="U1"), bolt_context(services),
        RecordingClient(), Recorder())
    respond = Recorder()
    run(command("define GTQ: a queue nobody reads", user="U666"), bolt_context(services),
        RecordingClient(), respond)
    assert "<@U1>" in respond.calls[0]["text"] and "history" in respond.calls[0]["text"]
    [(chunk, meta)] = services.index().chunks_of("defined/gtq")
    assert "nobody reads" in chunk.text
    assert "<@U666>" in chunk.source and "replacing <@U1>" in chunk.source
    assert json.loads(meta["m.history"])[0] == {"author": "U1", "definition": "the golden ticket queue"}


def test_glossary_text_is_decoded_from_slack_once() -> None:
    parsed = parse("define R&amp;D: research &amp; development, &lt;not&gt; sales")
    assert (parsed.term, parsed.definition) == ("R&D", "research & development, <not> sales")
