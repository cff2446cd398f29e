"""What the Slack surfaces remember between events: open right-page asks, indexed channels.

Two small tables beside the feedback store's, in the same database:

- `right_page_asks`: the threads where the bot asked "Know the right page?", one row per
  question; a reply in that thread (no mention needed) is read as the answer.
- `indexed_channels`: the channels `argot ingest slack://C…` or `/argot index` read, with
  the cursor of the last finished run (the newest top-level ts read) and the cursor of
  the run in progress, so a run killed midway resumes where it stopped and a later run
  reads only what is new.

Example:
    >>> state = ConversationState.of(store)
    >>> state.open_ask(query_id="q1", channel="C1", thread_ts="1.0001")
    True
    >>> state.ask_in("C1", "1.0001")
    'q1'
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from engine.schema import indexed_channels, right_page_asks


@dataclass(frozen=True)
class IndexedChannel:
    """A channel Argot reads. `done_until`: the newest top-level ts of the last finished
    run ("" before the first); `running_until`: how far the run in progress has got."""

    channel: str
    private: bool
    added_by: str = ""
    done_until: str = ""
    running_until: str = ""
    last_run_at: float = 0.0


_states: dict[int, ConversationState] = {}
_states_lock = threading.Lock()


class ConversationState:
    """The two tables over one SQLAlchemy engine (the feedback store's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine  # the tables are made by the migrations (engine/migrations)

    @classmethod
    def of(cls, store: Any) -> ConversationState:
        """The state beside a `FeedbackStore`, built once per store."""
        with _states_lock:
            key = id(store.engine)
            if key not in _states:
                _states[key] = cls(store.engine)
            return _states[key]

    # -- right-page asks -------------------------------------------------------------------

    def open_ask(self, *, query_id: str, channel: str, thread_ts: str) -> bool:
        """Note that the bot asked in this thread; False if it already had (ask once)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(right_page_asks).values(
                    query_id=query_id, channel=channel, thread_ts=thread_ts,
                    asked_at=time.time(), answered_by="", answered_doc=""))
            return True
        except IntegrityError:
            return False

    def ask_in(self, channel: str, thread_ts: str) -> str | None:
        """The question whose thread this is, if the bot asked for its right page there."""
        with self.engine.connect() as conn:
            row = conn.execute(select(right_page_asks.c.query_id).where(
                right_page_asks.c.channel == channel,
                right_page_asks.c.thread_ts == thread_ts)
                .order_by(right_page_asks.c.asked_at.desc())).first()
        return row.query_id if row else None

    def answered(self, query_id: str, user: str, doc_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(right_page_asks).where(right_page_asks.c.query_id == query_id)
                         .values(answered_by=user, answered_doc=doc_id))

    # -- indexed channels ------------------------------------------------------------------

    def channel(self, channel: str) -> IndexedChannel | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(indexed_channels)
                               .where(indexed_channels.c.channel == channel)).first()
        return IndexedChannel(**row._asdict()) if row else None

    def channels(self) -> list[IndexedChannel]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(indexed_channels).order_by(indexed_channels.c.channel)).all()
        return [IndexedChannel(**row._asdict()) for row in rows]

    def add_channel(self, channel: str, *, private: bool, added_by: str = "") -> IndexedChannel:
        """Start tracking a channel (or update its visibility); keeps its cursors."""
        with self.engine.begin() as conn:
            changed = conn.execute(update(indexed_channels)
                                   .where(indexed_channels.c.channel == channel)
                                   .values(private=private))
            if not changed.rowcount:
                conn.execute(insert(indexed_channels).values(
                    channel=channel, private=private, added_by=added_by, done_until="",
                    running_until="", last_run_at=0.0))
        found = self.channel(channel)
        assert found is not None
        return found

    def progress(self, channel: str, running_until: str) -> None:
        """The run in progress has stored everything up to this top-level ts."""
        with self.engine.begin() as conn:
            conn.execute(update(indexed_channels).where(indexed_channels.c.channel == channel)
                         .values(running_until=running_until))

    def finish(self, channel: str, done_until: str) -> None:
        """The run is complete: the next one reads only what is newer than `done_until`."""
        with self.engine.begin() as conn:
            conn.execute(update(indexed_channels).where(indexed_channels.c.channel == channel)
                         .values(done_until=done_until, running_until="",
                                 last_run_at=time.time()))
