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

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from engine.errors import ArgotError

metadata = MetaData()

questions = Table(
    "questions", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("user", String(64), nullable=False, default=""),
    Column("channel", String(64), nullable=False, default=""),
    Column("thread_ts", String(32), nullable=False, default=""),
    Column("modality", String(16), nullable=False, default="text"),
    Column("created_at", Float, nullable=False, index=True),
)

shown = Table(
    "shown", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("channel", String(64), nullable=False, default="", index=True),
    Column("message_ts", String(32), nullable=False, default="", index=True),
    Column("shown_at", Float, nullable=False),
)

votes = Table(
    "votes", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("user", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
)

handled_events = Table(
    "handled_events", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("handled_at", Float, nullable=False),
)

leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)


training_pairs_table = Table(
    "training_pairs", metadata,
    Column("pair_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False, index=True),
    Column("anchor", Text, nullable=False),
    Column("anchor_hash", String(40), nullable=False),
    Column("positive", String(512), nullable=False),
    Column("negatives", Text, nullable=False, default="[]"),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("source", "anchor_hash", "positive", name="uq_training_pair"),
)


class FeedbackUnavailable(ArgotError):
    """The database cannot be reached; the message never contains credentials."""


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
    model_version: str
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


class FeedbackStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        try:
            metadata.create_all(self.engine)
        except SQLAlchemyError as exc:
            raise unavailable(exc, url) from exc

    # -- questions and answers -------------------------------------------------------

    def record_question(self, question: AskedQuestion) -> str:
        self._run(insert(questions).values(**asdict(question)))
        return question.query_id

    def record_shown(self, answer: ShownAnswer) -> None:
        row = {**asdict(answer), "shown_at": time.time()}
        with self._begin() as conn:
            updated = conn.execute(
                update(shown).where(shown.c.query_id == answer.query_id,
                                    shown.c.doc_id == answer.doc_id).values(**row))
            if not updated.rowcount:
                conn.execute(insert(shown).values(**row))

    def answer_at(self, channel: str, message_ts: str) -> ShownAnswer | None:
        """The answer a Slack message shows, or None when the message is not an answer."""
        with self._connect() as conn:
            row = conn.execute(select(shown).where(shown.c.channel == channel,
                                                   shown.c.message_ts == message_ts)).first()
        if row is None:
            return None
        return ShownAnswer(row.query_id, row.doc_id, row.rank, row.score, row.model_version,
                           row.channel, row.message_ts)

    def question(self, query_id: str) -> AskedQuestion | None:
        with self._connect() as conn:
            row = conn.execute(select(questions).where(questions.c.query_id == query_id)).first()
        return AskedQuestion(**row._asdict()) if row else None

    def shown_for(self, query_id: str) -> list[ShownAnswer]:
        with self._connect() as conn:
            rows = conn.execute(select(shown).where(shown.c.query_id == query_id)
                                .order_by(shown.c.rank)).all()
        return [ShownAnswer(r.query_id, r.doc_id, r.rank, r.score, r.model_version, r.channel,
                            r.message_ts) for r in rows]

    # -- votes ----------------------------------------------------------------------------

    def record_vote(self, vote: Vote) -> None:
        if vote.value not in (1, -1):
            raise ValueError("a vote is +1 or -1")
        now = time.time()
        with self._begin() as conn:
            where = (votes.c.query_id == vote.query_id, votes.c.doc_id == vote.doc_id,
                     votes.c.user == vote.user)
            changed = conn.execute(update(votes).where(*where).values(value=vote.value,
                                                                        updated_at=now))
            if not changed.rowcount:
                conn.execute(insert(votes).values(**asdict(vote), updated_at=now))

    def withdraw_vote(self, vote: Vote) -> bool:
        """Remove the person's vote if it is still the one given (removing 👍 after
        switching to 👎 leaves the 👎)."""
        with self._begin() as conn:
            removed = conn.execute(delete(votes).where(
                votes.c.query_id == vote.query_id, votes.c.doc_id == vote.doc_id,
                votes.c.user == vote.user, votes.c.value == vote.value))
        return bool(removed.rowcount)

    def votes_for(self, query_id: str) -> list[Vote]:
        with self._connect() as conn:
            rows = conn.execute(select(votes).where(votes.c.query_id == query_id)).all()
        return [Vote(r.query_id, r.doc_id, r.user, r.value) for r in rows]

    def vote_count(self, since: float = 0.0) -> int:
        with self._connect() as conn:
            return int(conn.execute(select(func.count()).select_from(votes)
                                    .where(votes.c.updated_at > since)).scalar_one())

    def export(self) -> Iterator[dict[str, Any]]:
        """Every vote with its question and what was shown, oldest first."""
        query = (select(votes.c.query_id, votes.c.doc_id, votes.c.user, votes.c.value,
                        votes.c.updated_at, questions.c.text, questions.c.channel,
                        questions.c.modality, shown.c.rank, shown.c.score,
                        shown.c.model_version)
                 .join(questions, questions.c.query_id == votes.c.query_id)
                 .join(shown, (shown.c.query_id == votes.c.query_id)
                       & (shown.c.doc_id == votes.c.doc_id), isouter=True)
                 .order_by(votes.c.updated_at))
        with self._connect() as conn:
            for row in conn.execute(query):
                yield {"query_id": row.query_id, "question": row.text, "doc_id": row.doc_id,
                       "user": row.user, "vote": row.value, "at": row.updated_at,
                       "channel": row.channel, "modality": row.modality, "rank": row.rank,
                       "score": row.score, "model_version": row.model_version}

    # -- delivery and coordination -----------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen, False for every retry after."""
        try:
            with self._begin() as conn:
                conn.execute(insert(handled_events).values(event_id=event_id,
                                                           handled_at=time.time()))
            return True
        except IntegrityError:
            return False

    def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """One holder at a time across processes; an expired lease can be taken over."""
        now = time.time()
        with self._begin() as conn:
            taken = conn.execute(update(leases).where(
                leases.c.name == name,
                (leases.c.expires_at < now) | (leases.c.holder == holder),
            ).values(holder=holder, expires_at=now + seconds))
            if taken.rowcount:
                return True
            try:
                with conn.begin_nested():
                    conn.execute(insert(leases).values(name=name, holder=holder,
                                                       expires_at=now + seconds))
                return True
            except IntegrityError:
                return False

    def release_lease(self, name: str, holder: str) -> None:
        self._run(delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    # -- training pairs from FAQ, glossary and synthetic questions -----------------------

    def add_training_pairs(self, pairs: Iterable[TrainingPair]) -> int:
        """Store pairs not stored yet (same source, anchor and positive); returns how many."""
        added = 0
        with self._begin() as conn:
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
        with self._connect() as conn:
            rows = conn.execute(query).all()
        return [TrainingPair(r.source, r.anchor, r.positive, tuple(json.loads(r.negatives)))
                for r in rows]

    # -- plumbing --------------------------------------------------------------------------

    def _run(self, statement: Any) -> None:
        with self._begin() as conn:
            conn.execute(statement)

    def _begin(self) -> Any:
        return _Guard(self.engine.begin, self.url)

    def _connect(self) -> Any:
        return _Guard(self.engine.connect, self.url)


class _Guard:
    """Turns connection failures into FeedbackUnavailable with the password masked."""

    def __init__(self, opener: Any, url: str) -> None:
        self.opener, self.url, self.context = opener, url, None

    def __enter__(self) -> Any:
        try:
            self.context = self.opener()
            return self.context.__enter__()
        except OperationalError as exc:
            raise unavailable(exc, self.url) from exc

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.context.__exit__(*exc_info)
        except OperationalError as exc:
            raise unavailable(exc, self.url) from exc


def unavailable(exc: Exception, url: str) -> FeedbackUnavailable:
    from sqlalchemy.engine import make_url

    safe = make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    return FeedbackUnavailable(f"The feedback database {safe} is unavailable: {reason}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # In WAL mode NORMAL is still crash-safe and consistent (a process restart
            # loses nothing); only an OS crash or power cut can roll back the last few
            # commits. It saves an fsync per commit: ~12 ms of every vote and every
            # answer on the benchmark machine, for two commits before a question's
            # first answer.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
