"""handlers/commands.py (`/argot`) and the glossary verb behind `define`."""

from __future__ import annotations

from typing import Any

import pytest

from bot.services import Services
from engine.knowledge.glossary import GlossaryError, glossary_entry, term_slug
from handlers import blocks
from handlers.commands import acknowledge, parse, run
from tests.slackbot import RecordingClient, bolt_context, load_team_kb


class Recorder:
    """`ack` or `respond`: remembers what it was called with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def command(text: str, channel: str = "C1", user: str = "U1") -> dict[str, Any]:
    return {"command": "/argot", "text": text, "channel_id": channel, "user_id": user,
            "response_url": "http://127.0.0.1:9/response/x"}


@pytest.mark.parametrize("text,action", [
    ("", "help"), ("help", "help"), ("HELP me", "help"), ("--help", "help"),
    ("what is the bosun?", "ask"), ("phoenix", "ask"), ("helm charts?", "ask"),
    ("define GTQ: the golden ticket queue", "define"), ("Define  GTQ :  queue", "define"),
    ("define GTQ", "usage"), ("define : nothing", "usage"), ("define GTQ:", "usage"),
    ("defne GTQ: queue", "usage"), ("helpp", "usage"), ("--verbose", "usage"),
])
def test_parse(text: str, action: str) -> None:
    assert parse(text).action == action


def test_define_splits_at_the_first_colon() -> None:
    parsed = parse("define ETA: estimated time: of arrival")
    assert (parsed.term, parsed.definition) == ("ETA", "estimated time: of arrival")


def test_help_and_unknown_sub_commands_are_answered_in_the_ack() -> None:
    ack = Recorder()
    acknowledge(ack, command("help"))
    assert ack.calls[0]["text"] == blocks.HELP and ack.calls[0]["response_type"] == "ephemeral"
    ack = Recorder()
    acknowledge(ack, command("defnie X: y"))
    assert "`defnie`" in ack.calls[0]["text"] and blocks.HELP in ack.calls[0]["text"]
    ack = Recorder()
    acknowledge(ack, command("what is the bosun?"))
    assert ack.calls == [{}]


def test_a_question_is_answered_ephemerally(services: Services) -> None:
    load_team_kb(services)
    respond = Recorder()
    run(command("who owns the golden ticket queue?"), bolt_context(services), RecordingClient(),
        respond)
    [answer] = respond.calls
    assert answer["response_type"] == "ephemeral"
    assert "Golden ticket queue" in answer["blocks"][1]["text"]["text"]


def test_define_in_a_private_channel_stays_there(services: Services) -> None:
    load_team_kb(services)
    respond, client = Recorder(), RecordingClient(private_channels=("C9",))
    run(command("define Zorblax: the secret launch codename", channel="C9", user="U7"),
        bolt_context(services), client, respond)
    assert "Only people in this conversation" in respond.calls[0]["text"]
    retriever = services.retriever()
    here = retriever.search("what is zorblax", 3, channel="C9")
    assert here[0].doc_id == "defined/C9/zorblax" and "<@U7>" in here[0].source
    assert all(not hit.doc_id.startswith("defined/")
               for hit in retriever.search("what is zorblax", 20, channel="C1"))


def test_define_in_a_public_channel_is_public(services: Services) -> None:
    respond, client = Recorder(), RecordingClient()
    run(command("define Zorblax: the launch codename"), bolt_context(services), client, respond)
    assert client.calls == [("conversations.info", {"channel": "C1"})]
    assert "Everyone can find it" in respond.calls[0]["text"]
    assert services.retriever().search("zorblax", 1, channel="D5")[0].doc_id == "defined/zorblax"


def test_define_in_a_dm_needs_no_lookup_and_is_private(services: Services) -> None:
    respond, client = Recorder(), RecordingClient()
    run(command("define Zorblax: mine", channel="D5"), bolt_context(services), client, respond)
    assert client.calls == []
    assert services.retriever().search("zorblax", 1, channel="D5")[0].doc_id == "defined/D5/zorblax"


def test_glossary_entry_is_credited_and_scoped() -> None:
    entry = glossary_entry("  Golden  Ticket ", "the queue", author="U1", channel="G7", private=True)
    assert entry.doc_id == "defined/G7/golden-ticket" and entry.channels == ("G7",)
    assert entry.metadata["author"] == "U1" and entry.text == "Golden Ticket: the queue"
    public = glossary_entry("GTQ", "the queue", author="U1", channel="C1", private=False)
    assert public.doc_id == "defined/gtq" and public.channels is None
    assert term_slug("日本語") == "日本語" and term_slug("!!!")
    with pytest.raises(GlossaryError):
        glossary_entry("x" * 200, "too long a term", author="U1", channel="C1", private=False)


def test_database_down_answers_try_again(services: Services) -> None:
    from dataclasses import replace

    load_team_kb(services)
    down = Services(replace(services.settings, database_url="sqlite:////nonexistent/x/f.db"),
                    base_embedder=services.embedder())
    respond = Recorder()
    run(command("what is the bosun?"), bolt_context(down), RecordingClient(), respond)
    assert respond.calls == [{"text": blocks.TRY_AGAIN}]
