"""Opening the feedback database, and the one guard every query goes through.

`Database(url)` makes the engine (SQLite tuned for several threads, or any SQLAlchemy
URL such as PostgreSQL), brings the schema up to date or insists that it is
(engine/migrations), and hands out connections through `begin()` / `connect()`, which
turn a lost or refused connection into `FeedbackUnavailable`: one line, the password
masked, that the handlers turn into a short "try again" reply.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from engine.errors import ArgotError


class FeedbackUnavailable(ArgotError):
    """The database cannot be reached; the message never contains credentials."""


class Database:
    """An open feedback database: `begin()` for a transaction, `connect()` to read."""

    def __init__(self, url: str) -> None:
        from engine.migrations import open_schema

        self.url = url
        self.engine = make_engine(url)
        try:
            open_schema(self.engine, url)
        except SQLAlchemyError as exc:
            raise unavailable(exc, url) from exc

    def begin(self) -> Any:
        """`with db.begin() as conn:` one transaction, committed on leaving the block."""
        return _Guard(self.engine.begin, self.url)

    def connect(self) -> Any:
        """`with db.connect() as conn:` reads outside a transaction of our own."""
        return _Guard(self.engine.connect, self.url)

    def run(self, statement: Any) -> Any:
        """One statement in its own transaction; its result."""
        with self.begin() as conn:
            return conn.execute(statement)


class _Guard:
    """Turns connection failures (opening, inside the block, or committing) into
    FeedbackUnavailable with the password masked."""

    def __init__(self, opener: Any, url: str) -> None:
        self.opener, self.url, self.context = opener, url, None

    def __enter__(self) -> Any:
        try:
            self.context = self.opener()
            return self.context.__enter__()
        except OperationalError as exc:
            raise unavailable(exc, self.url) from exc

    def __exit__(self, kind: Any, error: BaseException | None, trace: Any) -> bool:
        try:
            self.context.__exit__(kind, error, trace)
        except OperationalError as exc:
            raise unavailable(exc, self.url) from exc
        if isinstance(error, OperationalError):  # the connection died inside the block
            raise unavailable(error, self.url) from error
        return False


def unavailable(exc: Exception, url: str) -> FeedbackUnavailable:
    from sqlalchemy.engine import make_url

    safe = make_url(url).render_as_string(hide_password=True)
    reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0][:200]
    return FeedbackUnavailable(f"The feedback database {safe} is unavailable: {reason}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            switch_to_wal(cursor)
            # In WAL mode NORMAL is still crash-safe and consistent (a process restart
            # loses nothing); only an OS crash or power cut can roll back the last few
            # commits. It saves an fsync per commit: ~12 ms of every vote and every
            # answer on the benchmark machine, for two commits before a question's
            # first answer.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def switch_to_wal(cursor: Any, patience: float = 30.0) -> None:
    """PRAGMA journal_mode=WAL, retried: switching a new file to WAL needs it to itself,
    and SQLite answers "database is locked" at once (no busy wait) while another
    connection, e.g. the scheduler's job store, is writing to it."""
    import sqlite3
    import time

    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
