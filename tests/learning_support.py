"""Helpers for the learning tests: rate questions the way people do in Slack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from engine.feedback import AskedQuestion, FeedbackStore, ShownAnswer, Vote

REPO = Path(__file__).resolve().parent.parent
DEMO_QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"


def demo_queries() -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in DEMO_QUESTIONS.read_text().splitlines() if line.strip()]
    return [(row["query"], row["relevant"]) for row in rows]


def rate(store: FeedbackStore, retriever, queries: Sequence[tuple[str, Sequence[str]]], *,
         users: Sequence[str] = ("U1", "U2", "U3"), k: int = 3, version: str = "base") -> int:
    """Ask each question, show the top k, and vote as a person who knows the answer:
    👍 on the right document when it is shown; otherwise 👎 on the best match, then 👍 on
    the right one among the further candidates. Returns the number of votes."""
    votes = 0
    for number, (text, relevant) in enumerate(queries):
        user = users[number % len(users)]
        query_id = store.record_question(AskedQuestion(text, user=user, channel="C1"))
        hits = retriever.search(text, k=k)
        for rank, hit in enumerate(hits, start=1):
            store.record_shown(ShownAnswer(query_id, hit.doc_id, rank, hit.score, version, "C1",
                                           f"{number}.{rank}"))
        shown = [hit.doc_id for hit in hits]
        right = [doc for doc in shown if doc in relevant]
        if right:
            store.record_vote(Vote(query_id, right[0], user, 1))
            votes += 1
            continue
        if shown:
            store.record_vote(Vote(query_id, shown[0], user, -1))
            votes += 1
        store.record_shown(ShownAnswer(query_id, relevant[0], k + 1, 0.0, version, "C1",
                                       f"{number}.{k + 1}"))
        store.record_vote(Vote(query_id, relevant[0], user, 1))
        votes += 1
    return votes
