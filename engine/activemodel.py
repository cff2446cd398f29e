"""Which model version answers, as one row in the feedback database that every process
reads: the deployment's single source of truth, however many machines serve.

The registry (engine/registry.py) writes the row wherever it switches versions
(promotion, rollback) and reads it for `active()`. A read is cached for `TTL` seconds,
so a question costs no extra query most of the time, and a promotion reaches every
process within a second, without a restart. While the database is unreachable, the
last value read stands: answering never waits for this row.

Example:
    >>> pointer = ActiveModel(store)
    >>> pointer.set("ft0003")
    >>> pointer.get()
    'ft0003'
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import insert, select, update

from engine.database import Database, FeedbackUnavailable
from engine.schema import active_model

log = logging.getLogger(__name__)

TTL = 1.0
SLOT = "text"
"""The one slot today: the text model. (Images use the configured CLIP model.)"""


class ActiveModel:
    def __init__(self, db: Database, ttl: float = TTL) -> None:
        self.db = db
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] | None = None
        self._down = False

    def get(self, fresh: bool = False) -> str | None:
        """The active registry name; None when no version was ever switched to here
        (the registry's own file decides then). `fresh` skips the cache."""
        with self._lock:
            if not fresh and self._cached and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
        try:
            with self.db.connect() as conn:
                name = conn.execute(select(active_model.c.name)
                                    .where(active_model.c.slot == SLOT)).scalar()
        except FeedbackUnavailable as exc:
            if not self._down:  # one line per outage, not one per question
                log.warning("cannot read the active model from the database (%s); keeping %s",
                            exc, self._cached[1] if self._cached else "the registry file's")
            self._down = True
            return self._cached[1] if self._cached else None
        with self._lock:
            self._cached, self._down = (time.monotonic(), name), False
        return name

    def set(self, name: str) -> None:
        """Make `name` the active version for every process."""
        now = time.time()
        with self.db.begin() as conn:
            changed = conn.execute(update(active_model).where(active_model.c.slot == SLOT)
                                   .values(name=name, updated_at=now))
            if not changed.rowcount:
                conn.execute(insert(active_model).values(slot=SLOT, name=name, updated_at=now))
        with self._lock:
            self._cached = (time.monotonic(), name)
