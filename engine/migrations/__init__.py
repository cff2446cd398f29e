"""Schema migrations of the feedback database (Alembic, run from code: no alembic.ini).

The revisions live in `versions/`; 0001 is the schema Argot created before migrations,
so a database made by that code upgrades with every row kept. Every upgrade runs under
a lock that the database itself holds for the whole deployment: a PostgreSQL advisory
lock, or for SQLite its own write lock (BEGIN IMMEDIATE). Processes that
start together therefore never race to create or change tables: the first migrates,
the others wait, then find the schema current.

`open_schema(engine, url)` is what every process does when it opens the database:
SQLite is upgraded in place (one process per home, nothing else to coordinate);
PostgreSQL is only checked, and an out-of-date schema stops the process with one line
naming `argot db upgrade`.

Example:
    >>> upgrade("postgresql+psycopg://argot@db/argot")   # what `argot db upgrade` runs
    ('0001', '0002')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from engine.errors import ArgotError

ADVISORY_LOCK = 0x41_52_47_4F_54  # "ARGOT": one number every Argot process agrees on


class SchemaOutOfDate(ArgotError):
    """The database's schema is older than this Argot; the message says what to run."""


class CopyRefused(ArgotError):
    """`copy_rows` found data in the target; nothing was copied."""


@lru_cache(maxsize=1)
def _scripts() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(Path(__file__).parent))


def head() -> str:
    """The newest revision this Argot knows."""
    return str(_scripts().get_current_head())


def current(conn: Connection) -> str | None:
    """The database's revision; None for an empty database or one made before migrations."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(url_or_engine: str | Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Bring the database up to `target` under the deployment-wide lock; returns
    (revision before, revision after). Safe to run from several processes at once."""
    from engine.database import make_engine, unavailable

    given = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    engine = _migration_engine(given)
    try:
        with engine.connect() as conn, schema_lock(conn), conn.begin():
            before = current(conn)
            _run_alembic(conn, target)
            return before, current(conn)
    except SQLAlchemyError as exc:
        raise unavailable(exc, given.url.render_as_string(hide_password=False)) from exc
    finally:
        if engine is not given:
            engine.dispose()
        if isinstance(url_or_engine, str):
            given.dispose()


def open_schema(engine: Engine, url: str) -> None:
    """On opening the database: upgrade SQLite in place; on any other database insist
    that the schema is current, else stop with one line naming `argot db upgrade`."""
    with engine.connect() as conn:
        found = current(conn)
    if found == head():
        return
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    safe = make_url(url).render_as_string(hide_password=True)
    state = f"is at schema {found}" if found else "has no Argot schema yet"
    raise SchemaOutOfDate(f"The feedback database {safe} {state}; this Argot needs {head()}: "
                          "run `argot db upgrade` once (from any one machine), then start again")


@contextlib.contextmanager
def schema_lock(conn: Connection) -> Iterator[None]:
    """Held by one process of the whole deployment at a time, around the migration's
    transaction: a PostgreSQL advisory lock. SQLite needs none here: the migration
    engine opens its transaction with BEGIN IMMEDIATE, SQLite's own write lock."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK})
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK})
        conn.commit()


def _migration_engine(engine: Engine) -> Engine:
    """For a SQLite file: an engine whose transactions start with BEGIN IMMEDIATE, so the
    whole migration (DDL included) is one transaction holding SQLite's write lock from
    its first statement; concurrent writers wait (busy timeout) instead of failing."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    immediate = create_engine(engine.url, connect_args={"timeout": 60}, poolclass=NullPool)

    @event.listens_for(immediate, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(immediate, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return immediate


def _run_alembic(conn: Connection, target: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = conn
    command.upgrade(config, target)


def copy_rows(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row of an Argot database into another, empty one (both brought up to
    date first): how a home moves from SQLite to PostgreSQL. Returns rows per table.

    Raises:
        CopyRefused: the target already holds questions or votes (nothing copied).
    """
    from sqlalchemy import func, insert, select

    from engine.database import make_engine, unavailable
    from engine.schema import metadata, questions, votes

    upgrade(source_url)
    upgrade(target_url)
    source, target = make_engine(source_url), make_engine(target_url)
    copied: dict[str, int] = {}
    try:
        with source.connect() as reading, target.begin() as writing:
            for table in (questions, votes):
                if writing.execute(select(func.count()).select_from(table)).scalar_one():
                    raise CopyRefused(f"The target database already holds {table.name}; "
                                          "copy only into a new, empty database")
            for table in metadata.sorted_tables:
                rows = [dict(row._mapping) for row in reading.execute(select(table))]
                if rows:
                    writing.execute(insert(table), rows)
                copied[table.name] = len(rows)
            if writing.dialect.name == "postgresql":  # the next pair_id follows the copied ones
                writing.execute(text("SELECT setval(pg_get_serial_sequence('training_pairs', "
                                     "'pair_id'), COALESCE(MAX(pair_id), 0) + 1, false) "
                                     "FROM training_pairs"))
    except SQLAlchemyError as exc:
        raise unavailable(exc, target_url) from exc
    finally:
        source.dispose()
        target.dispose()
    return copied
