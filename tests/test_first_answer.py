"""The first answer leaves as soon as the search is done, and nothing is lost for it: the
question is on record before any answer can be rated, and redeliveries answer nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bot.services import Services
from handlers.questions import answer_question
from tests.slackbot import RecordingClient, bolt_context, load_team_kb, mention_event


@pytest.fixture
def kb_services(services: Services) -> Services:
    load_team_kb(services)
    return services


class CheckingClient(RecordingClient):
    """Notes, at each answer's post, whether its question was already on record."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.on_record: list[bool] = []
        self._lock = threading.Lock()

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        metadata = kwargs.get("metadata")
        if metadata:
            query_id = metadata["event_payload"]["query_id"]
            self.on_record.append(self.services.feedback.question(query_id) is not None)
        with self._lock:
            return super().chat_postMessage(**kwargs)


def test_every_answer_has_its_question_on_record_when_it_is_posted(kb_services: Services) -> None:
    client = CheckingClient(kb_services)
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(kb_services), client)
    assert client.on_record and all(client.on_record)


def test_the_same_message_delivered_four_times_at_once_is_answered_once(
        kb_services: Services) -> None:
    client = CheckingClient(kb_services)
    body, event = mention_event("what is project phoenix?")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: answer_question(body, event, bolt_context(kb_services), client),
                      range(4)))
    posted = client.posted()
    assert posted, "the first delivery answers"
    assert len({p["metadata"]["event_payload"]["query_id"] for p in posted}) == 1
    ranks = [p["metadata"]["event_payload"]["rank"] for p in posted]
    assert ranks == sorted(set(ranks))


def test_a_redelivered_question_that_fails_to_search_reports_once(kb_services: Services,
                                                                  monkeypatch) -> None:  # noqa: ANN001
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("search broke")

    monkeypatch.setattr("handlers.questions.search_text", broken)
    client = RecordingClient()
    body, event = mention_event("what is project phoenix?")
    answer_question(body, event, bolt_context(kb_services), client)
    answer_question(body, event, bolt_context(kb_services), client)
    assert len(client.posted()) == 1, "one failure reply, from the first delivery only"
