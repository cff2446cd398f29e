"""handlers/reactions.py, called directly with a recording client and real services."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from bot.services import Services
from engine.feedback import Vote
from handlers.questions import answer_question
from handlers.reactions import is_rating, record_rating, vote_value, withdraw_rating
from tests.slackbot import RecordingClient, bolt_context, load_team_kb, mention_event


@pytest.fixture
def asked(services: Services) -> tuple[Services, RecordingClient, list[dict[str, Any]]]:
    """A question about Phoenix, answered; returns the answer messages as posted."""
    load_team_kb(services)
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(services), client)
    answers = [dict(p, ts=f"{1001 + i}.000100") for i, p in enumerate(client.posted())]
    client.calls.clear()
    return services, client, answers


def reaction(kind: str, name: str, ts: str, *, user: str = "U2", event_id: str = "EvR1",
             channel: str = "C1") -> tuple[dict[str, Any], dict[str, Any]]:
    event = {"type": kind, "user": user, "reaction": name, "item_user": "UBOT",
             "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": "1.1"}
    return {"type": "event_callback", "event_id": event_id, "event": event}, event


def query_of(answer: dict[str, Any]) -> str:
    return answer["metadata"]["event_payload"]["query_id"]


@pytest.mark.parametrize("name,value", [
    ("+1", 1), ("thumbsup", 1), ("+1::skin-tone-2", 1), ("thumbsup::skin-tone-6", 1),
    ("-1", -1), ("thumbsdown", -1), ("-1::skin-tone-4", -1), ("heart", None), ("+100", None),
])
def test_thumbs_in_any_skin_tone_are_votes(name: str, value: int | None) -> None:
    assert vote_value(name) == value
    event = {"reaction": name, "item": {"type": "message"}}
    assert is_rating(event) is (value is not None)


def test_thumbs_up_on_an_answer_is_a_positive_vote(asked) -> None:
    services, client, answers = asked
    body, event = reaction("reaction_added", "+1::skin-tone-3", answers[0]["ts"])
    record_rating(body, event, bolt_context(services), client)
    assert services.feedback.votes_for(query_of(answers[0])) == [
        Vote(query_of(answers[0]), "services/phoenix", "U2", 1)]
    assert client.posted() == []


def test_thumbs_down_on_the_best_match_brings_rateable_alternatives_once(asked) -> None:
    services, client, answers = asked
    body, event = reaction("reaction_added", "-1", answers[0]["ts"])
    record_rating(body, event, bolt_context(services), client)
    alternatives = client.posted()
    assert 1 <= len(alternatives) <= 3
    shown_before = {a["metadata"]["event_payload"]["doc_id"] for a in answers}
    payloads = [a["metadata"]["event_payload"] for a in alternatives]
    assert not shown_before & {p["doc_id"] for p in payloads}
    assert [p["rank"] for p in payloads] == list(range(len(answers) + 1,
                                                      len(answers) + 1 + len(alternatives)))
    assert all(a["thread_ts"] == "100.000001" for a in alternatives)
    assert {p["model_version"] for p in payloads} == {"base"}  # the registry's name, as answers
    shown = services.feedback.shown_for(query_of(answers[0]))
    assert len(shown) == len(answers) + len(alternatives) and all(s.message_ts for s in shown)

    body, event = reaction("reaction_added", "thumbsdown", answers[0]["ts"], user="U3",
                           event_id="EvR2")
    record_rating(body, event, bolt_context(services), client)
    assert len(client.posted()) == len(alternatives)


def test_thumbs_down_on_a_lower_answer_is_only_a_vote(asked) -> None:
    services, client, answers = asked
    assert len(answers) > 1
    lower = answers[1]
    body, event = reaction("reaction_added", "-1", lower["ts"])
    record_rating(body, event, bolt_context(services), client)
    assert client.posted() == []
    assert [v.value for v in services.feedback.votes_for(query_of(lower))] == [-1]


def test_removing_the_reaction_withdraws_the_vote(asked) -> None:
    services, client, answers = asked
    ts = answers[0]["ts"]
    body, event = reaction("reaction_added", "+1", ts)
    record_rating(body, event, bolt_context(services), client)
    body, event = reaction("reaction_removed", "+1", ts, event_id="EvR2")
    withdraw_rating(body, event, bolt_context(services), client)
    assert services.feedback.votes_for(query_of(answers[0])) == []


def test_the_latest_vote_counts(asked) -> None:
    services, client, answers = asked
    ts = answers[0]["ts"]
    body, event = reaction("reaction_added", "+1", ts)
    record_rating(body, event, bolt_context(services), client)
    body, event = reaction("reaction_added", "-1", ts, event_id="EvR2")
    record_rating(body, event, bolt_context(services), client)
    # Taking the 👍 away afterwards leaves the 👎 standing.
    body, event = reaction("reaction_removed", "+1", ts, event_id="EvR3")
    withdraw_rating(body, event, bolt_context(services), client)
    assert [v.value for v in services.feedback.votes_for(query_of(answers[0]))] == [-1]


def test_a_reaction_on_a_message_that_is_not_an_answer_is_ignored(asked) -> None:
    services, client, answers = asked
    body, event = reaction("reaction_added", "-1", "100.000001")  # the question itself
    record_rating(body, event, bolt_context(services), client)
    assert client.calls == []
    assert services.feedback.votes_for(query_of(answers[0])) == []


def test_database_down_tells_only_the_person_who_reacted(services: Services) -> None:
    from dataclasses import replace

    from handlers import blocks

    down = Services(replace(services.settings, database_url="sqlite:////nonexistent/x/f.db"),
                    base_embedder=services.embedder())
    client = RecordingClient()
    body, event = reaction("reaction_added", "+1", "1001.000100")
    record_rating(body, event, bolt_context(down), client)
    assert client.calls == [("chat.postEphemeral",
                             {"channel": "C1", "user": "U2", "text": blocks.TRY_AGAIN})]


def test_a_thumb_faster_than_the_bots_own_record_of_its_answer_still_counts(asked) -> None:
    services, client, answers = asked
    late = "1999.000100"  # a message Slack shows before chat.postMessage returns to the bot
    shown = services.feedback.shown_for(query_of(answers[0]))[0]
    body, event = reaction("reaction_added", "+1", late)
    client = MessagesClient({late: {"event_type": "argot_answer", "event_payload": {}}})
    recording = threading.Timer(0.5, services.feedback.record_shown,
                                [replace(shown, rank=9, message_ts=late)])
    recording.start()
    record_rating(body, event, bolt_context(services), client).result(timeout=10)
    recording.join()
    assert [(v.doc_id, v.value) for v in services.feedback.votes_for(shown.query_id)] == \
        [(shown.doc_id, 1)]


class MessagesClient(RecordingClient):
    """A client whose conversations.replies finds bot messages with the given metadata."""

    def __init__(self, metadata: dict[str, dict[str, Any] | None]) -> None:
        super().__init__()
        self.metadata = metadata
        self.lookups = 0
        self.release = threading.Event()
        self.release.set()

    def conversations_replies(self, **kwargs: Any) -> dict[str, Any]:
        self._record("conversations.replies", kwargs)
        self.lookups += 1
        self.release.wait(10)
        ts = kwargs["ts"]
        message = {"ts": ts, "user": "UBOT"}
        if self.metadata.get(ts):
            message["metadata"] = self.metadata[ts]
        return {"ok": True, "messages": [message]}


def test_a_reaction_storm_on_bot_messages_that_are_not_answers_holds_no_listener(asked) -> None:
    """48 thumbs from one person on the bot's help replies: each listener call returns at
    once, at most two lookups run for that person, and another person's vote counts at once."""
    services, _, answers = asked
    client = MessagesClient({})
    client.release.clear()  # Slack is slow to answer the lookups
    started = time.monotonic()
    waits = []
    for number in range(48):
        kind = "reaction_added" if number % 2 == 0 else "reaction_removed"
        body, event = reaction(kind, "+1", f"{3000 + number}.000100", user="USTORM",
                               event_id=f"EvS{number}")
        rate = record_rating if kind == "reaction_added" else withdraw_rating
        waits.append(rate(body, event, bolt_context(services), client))
    assert time.monotonic() - started < 2
    assert sum(wait is not None for wait in waits) <= 2

    body, event = reaction("reaction_added", "+1", answers[0]["ts"], user="U7", event_id="EvOK")
    assert record_rating(body, event, bolt_context(services), client) is None  # known: no wait
    assert [(v.user, v.value) for v in services.feedback.votes_for(query_of(answers[0]))] == [("U7", 1)]

    client.release.set()
    for wait in waits:
        if wait is not None:
            wait.result(timeout=10)
    assert client.lookups <= 2


def test_a_bot_message_without_answer_metadata_is_not_waited_for(asked) -> None:
    services, _, _ = asked
    client = MessagesClient({"4000.000100": None})
    body, event = reaction("reaction_added", "+1", "4000.000100")
    started = time.monotonic()
    record_rating(body, event, bolt_context(services), client).result(timeout=10)
    assert time.monotonic() - started < 1  # one lookup, no 5-second wait
