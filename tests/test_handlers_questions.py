"""handlers/questions.py, called directly with a recording client and real services."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.services import Services
from engine.search.retrieval import MAX_QUERY_CHARS
from handlers import blocks
from handlers.questions import answer_question, is_direct_question, is_question, question_text
from tests.slackbot import RecordingClient, bolt_context, load_team_kb, mention_event


@pytest.fixture
def kb_services(services: Services) -> Services:
    load_team_kb(services)
    return services


def test_question_text_drops_only_the_bots_mention() -> None:
    assert question_text("<@UBOT> who owns <@U42>'s queue?", "UBOT") == "who owns <@U42>'s queue?"
    assert question_text("  <@UBOT|argot>   ", "UBOT") == ""


def test_only_peoples_messages_without_images_are_questions() -> None:
    person = {"type": "message", "user": "U1", "text": "hi", "channel_type": "im"}
    assert is_direct_question(person)
    assert not is_direct_question({**person, "channel_type": "channel"})
    assert not is_question({**person, "bot_id": "B9"})
    assert not is_question({**person, "subtype": "message_changed"})
    image = {"id": "F1", "mimetype": "image/png"}
    assert not is_question({**person, "subtype": "file_share", "files": [image]})
    assert is_question({**person, "subtype": "file_share",
                        "files": [{"id": "F2", "mimetype": "application/pdf"}]})


def test_answers_go_in_the_thread_best_match_first_with_metadata(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(kb_services), client)

    posted = client.posted()
    assert posted and all(p["thread_ts"] == event["ts"] and p["channel"] == "C1" for p in posted)
    first = posted[0]["metadata"]
    assert first["event_type"] == "argot_answer"
    assert first["event_payload"]["doc_id"] == "services/phoenix"
    assert first["event_payload"]["rank"] == 1
    assert first["event_payload"]["model_version"] == "base"
    assert "Project Phoenix" in posted[0]["blocks"][0]["text"]["text"]
    assert "wiki.example/phoenix" in posted[0]["blocks"][0]["text"]["text"]

    query_id = first["event_payload"]["query_id"]
    feedback = kb_services.feedback
    assert feedback.question(query_id).text == "what is project phoenix?"
    shown = feedback.shown_for(query_id)
    assert [s.message_ts for s in shown] == [f"{1001 + i}.000100" for i in range(len(posted))]


def test_a_mention_inside_a_thread_is_answered_in_that_thread(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("what is the bosun?", ts="200.000002", thread_ts="150.000001")
    answer_question(body, event, bolt_context(kb_services), client)
    assert {p["thread_ts"] for p in client.posted()} == {"150.000001"}


def test_an_empty_mention_gets_a_short_help_reply(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("   ")
    answer_question(body, event, bolt_context(kb_services), client)
    [reply] = client.posted()
    assert reply["text"] == blocks.EMPTY_QUESTION and "metadata" not in reply


def test_a_very_long_message_is_cut_to_a_bounded_query(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("phoenix " * 2000)
    answer_question(body, event, bolt_context(kb_services), client)
    answers = [p for p in client.posted() if "metadata" in p]
    query_id = answers[0]["metadata"]["event_payload"]["query_id"]
    assert len(kb_services.feedback.question(query_id).text) == MAX_QUERY_CHARS
    assert client.posted()[-1]["text"] == blocks.TRUNCATED.format(limit=MAX_QUERY_CHARS)


def test_the_same_event_twice_is_answered_once(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(kb_services), client)
    count = len(client.posted())
    answer_question(body, event, bolt_context(kb_services), client)
    assert len(client.posted()) == count


def test_nothing_found_says_so(services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(services), client)  # empty index
    no_match, ask = client.posted()
    assert no_match["text"] == blocks.NO_MATCH
    assert ask["text"] == "Know the right page? Reply here with its link or id."
    assert ask["thread_ts"] == no_match["thread_ts"] == event["ts"]


def test_database_down_tells_the_person_and_logs_no_secret(
        kb_services: Services, caplog: pytest.LogCaptureFixture) -> None:
    down = Services(replace(kb_services.settings,
                            database_url="sqlite:////nonexistent/argot/feedback.db",
                            slack_bot_token="xoxb-secret-token"),
                    base_embedder=kb_services.embedder())
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    with caplog.at_level(logging.ERROR):
        answer_question(body, event, bolt_context(down), client)
    [reply] = client.posted()
    assert reply["text"] == blocks.TRY_AGAIN
    assert "unavailable" in caplog.text and "xoxb-" not in caplog.text


def test_one_message_delivered_as_two_events_is_answered_once(kb_services: Services) -> None:
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?", channel="D1")
    answer_question(body, event, bolt_context(kb_services), client)
    count = len(client.posted())
    as_dm = {**event, "type": "message", "channel_type": "im"}
    answer_question({**body, "event_id": "Ev2"}, as_dm, bolt_context(kb_services), client)
    assert len(client.posted()) == count
