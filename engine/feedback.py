"""The feedback store: questions asked, answers shown, votes given, events handled.

SQLAlchemy over SQLite under ARGOT_HOME by default, or any `DATABASE_URL`
(PostgreSQL when several bot processes share the work). One vote per person per
(question, document); the latest counts; removing the reaction withdraws it only if
it is the vote that stands. Slack event ids are claimed once, so a retried delivery
changes nothing.

Example:
    >>> store = FeedbackStore("sqlite:///:memory:")
    >>> qid = store.record_question(AskedQuestion(text="what is GTQ?", user="U1", channel="C1"))
    >>> store.record_shown(ShownAnswer(qid, "glossary/gtq", 1, 0.8, "base", "C1", "171.0001"))
    >>> store.record_vote(Vote(qid, "glossary/gtq", "U1", +1))
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.database import Database, FeedbackUnavailable, make_engine, unavailable
from engine.schema import handled_events, questions, shown, votes
from engine.schema import training_pairs as training_pairs_table

__all__ = ["AskedQuestion", "FeedbackStore", "FeedbackUnavailable", "ShownAnswer", "TrainingPair",
           "Vote", "make_engine", "unavailable"]


@dataclass(frozen=True)
class AskedQuestion:
    text: str
    user: str = ""
    channel: str = ""
    thread_ts: str = ""
    modality: str = "text"
    query_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ShownAnswer:
    """One document shown for a question, as one Slack message."""

    query_id: str
    doc_id: str
    rank: int
    score: float
    ranked_by: str
    """The model that ranked it: the text model's registry name ("base", "ft0003"), or
    the CLIP model's `model_id` for an image question."""
    channel: str = ""
    message_ts: str = ""


@dataclass(frozen=True)
class Vote:
    """+1 for 👍, -1 for 👎, by one person on one (question, document)."""

    query_id: str
    doc_id: str
    user: str
    value: int


@dataclass(frozen=True)
class TrainingPair:
    """A question and the document that answers it, from somewhere other than a vote.

    `source` is "faq" (imported FAQ), "glossary" or "synthetic"; `negatives` are doc ids
    known not to answer it (for the FAQ: other answers).
    """

    source: str
    anchor: str
    positive: str
    negatives: tuple[str, ...] = ()


class FeedbackStore(Database):
    """Opening it upgrades a SQLite schema in place, and insists that any other
    database's is current (`argot db upgrade`); see engine/database.py."""

    # -- questions and answers -------------------------------------------------------

    def record_question(self, question: AskedQuestion) -> str:
        self.run(insert(questions).values(**asdict(question)))
        return question.query_id

    def record_shown(self, answer: ShownAnswer) -> None:
        row = {**asdict(answer), "shown_at": time.time()}
        with self.begin() as conn:
            updated = conn.execute(
                update(shown).where(shown.c.query_id == answer.query_id,
                                    shown.c.doc_id == answer.doc_id).values(**row))
            if not updated.rowcount:
                conn.execute(insert(shown).values(**row))

    def answer_at(self, channel: str, message_ts: str) -> ShownAnswer | None:
        """The answer a Slack message shows, or None when the message is not an answer."""
        with self.connect() as conn:
            row = conn.execute(select(shown).where(shown.c.channel == channel,
                                                   shown.c.message_ts == message_ts)).first()
        if row is None:
            return None
        return ShownAnswer(row.query_id, row.doc_id, row.rank, row.score, row.ranked_by,
                           row.channel, row.message_ts)

    def question(self, query_id: str) -> AskedQuestion | None:
        with self.connect() as conn:
            row = conn.execute(select(questions).where(questions.c.query_id == query_id)).first()
        return AskedQuestion(**row._asdict()) if row else None

    def shown_for(self, query_id: str) -> list[ShownAnswer]:
        with self.connect() as conn:
            rows = conn.execute(select(shown).where(shown.c.query_id == query_id)
                                .order_by(shown.c.rank)).all()
        return [ShownAnswer(r.query_id, r.doc_id, r.rank, r.score, r.ranked_by, r.channel,
                            r.message_ts) for r in rows]

    # -- votes ----------------------------------------------------------------------------

    def record_vote(self, vote: Vote) -> None:
        if vote.value not in (1, -1):
            raise ValueError("a vote is +1 or -1")
        now = time.time()
        with self.begin() as conn:
            where = (votes.c.query_id == vote.query_id, votes.c.doc_id == vote.doc_id,
                     votes.c.user == vote.user)
            changed = conn.execute(update(votes).where(*where).values(value=vote.value,
                                                                        updated_at=now))
            if not changed.rowcount:
                conn.execute(insert(votes).values(**asdict(vote), updated_at=now))

    def withdraw_vote(self, vote: Vote) -> bool:
        """Remove the person's vote if it is still the one given (removing 👍 after
        switching to 👎 leaves the 👎)."""
        with self.begin() as conn:
            removed = conn.execute(delete(votes).where(
                votes.c.query_id == vote.query_id, votes.c.doc_id == vote.doc_id,
                votes.c.user == vote.user, votes.c.value == vote.value))
        return bool(removed.rowcount)

    def votes_for(self, query_id: str) -> list[Vote]:
        with self.connect() as conn:
            rows = conn.execute(select(votes).where(votes.c.query_id == query_id)).all()
        return [Vote(r.query_id, r.doc_id, r.user, r.value) for r in rows]

    def vote_count(self, since: float = 0.0) -> int:
        with self.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(votes)
                                    .where(votes.c.updated_at > since)).scalar_one())

    def export(self) -> Iterator[dict[str, Any]]:
        """Every vote with its question and what was shown, oldest first."""
        query = (select(votes.c.query_id, votes.c.doc_id, votes.c.user, votes.c.value,
                        votes.c.updated_at, questions.c.text, questions.c.channel,
                        questions.c.modality, shown.c.rank, shown.c.score,
                        shown.c.ranked_by)
                 .join(questions, questions.c.query_id == votes.c.query_id)
                 .join(shown, (shown.c.query_id == votes.c.query_id)
                       & (shown.c.doc_id == votes.c.doc_id), isouter=True)
                 .order_by(votes.c.updated_at))
        with self.connect() as conn:
            for row in conn.execute(query):
                yield {"query_id": row.query_id, "question": row.text, "doc_id": row.doc_id,
                       "user": row.user, "vote": row.value, "at": row.updated_at,
                       "channel": row.channel, "modality": row.modality, "rank": row.rank,
                       "score": row.score, "model_version": row.ranked_by}

    # -- delivery and coordination -----------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen, False for every retry after."""
        try:
            with self.begin() as conn:
                conn.execute(insert(handled_events).values(event_id=event_id,
                                                           handled_at=time.time()))
            return True
        except IntegrityError:
            return False

    # -- training pairs from FAQ, glossary and synthetic questions -----------------------

    def add_training_pairs(self, pairs: Iterable[TrainingPair]) -> int:
        """Store pairs not stored yet (same source, anchor and positive); returns how many."""
        added = 0
        with self.begin() as conn:
            for pair in pairs:
                anchor_hash = hashlib.sha1(pair.anchor.encode("utf-8")).hexdigest()
                exists = conn.execute(select(training_pairs_table.c.pair_id).where(
                    training_pairs_table.c.source == pair.source,
                    training_pairs_table.c.anchor_hash == anchor_hash,
                    training_pairs_table.c.positive == pair.positive)).first()
                if exists:
                    continue
                conn.execute(insert(training_pairs_table).values(
                    source=pair.source, anchor=pair.anchor, anchor_hash=anchor_hash,
                    positive=pair.positive, negatives=json.dumps(list(pair.negatives)),
                    created_at=time.time()))
                added += 1
        return added

    def training_pairs(self, source: str | None = None) -> list[TrainingPair]:
        """Stored pairs, oldest first; only those of one source when given."""
        query = select(training_pairs_table).order_by(training_pairs_table.c.pair_id)
        if source is not None:
            query = query.where(training_pairs_table.c.source == source)
        with self.connect() as conn:
            rows = conn.execute(query).all()
        return [TrainingPair(r.source, r.anchor, r.positive, tuple(json.loads(r.negatives)))
                for r in rows]
