"""`argot db upgrade`: bring the feedback database's schema up to date (Alembic);
`argot db copy SOURCE`: move a home's ratings into a new database (SQLite → PostgreSQL)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import say
from bot.services import Services


def cmd_upgrade(args: argparse.Namespace, services: Services) -> int:
    from sqlalchemy.engine import make_url

    from engine.migrations import upgrade

    settings = services.settings
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    where = make_url(settings.db_url).render_as_string(hide_password=True)
    before, after = upgrade(settings.db_url)
    if before == after:
        say(f"{where}: schema {after} is current; nothing to do")
    else:
        say(f"{where}: schema {before or 'none'} → {after}")
    return 0


def cmd_copy(args: argparse.Namespace, services: Services) -> int:
    from sqlalchemy.engine import make_url

    from engine.migrations import copy_rows

    settings = services.settings
    if not settings.database_url:
        say("error: set DATABASE_URL to the new database to copy into (e.g. PostgreSQL)")
        return 2
    copied = copy_rows(args.source, settings.database_url)
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    counts = ", ".join(f"{rows} {table}" for table, rows in copied.items() if rows) or "no rows"
    say(f"copied into {where}: {counts}")
    return 0


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the feedback database: `argot db upgrade`, `argot db copy`")
    verbs = db.add_subparsers(dest="db_command", required=True, metavar="VERB")
    up = verbs.add_parser("upgrade", help="bring the schema up to date, keeping every row (safe "
                                          "to run from several machines at once)")
    up.set_defaults(run=cmd_upgrade)
    copy = verbs.add_parser("copy", help="copy every question, vote and cycle from another "
                                         "database (e.g. the old SQLite file) into DATABASE_URL")
    copy.add_argument("source", help="SQLAlchemy URL, e.g. sqlite:////srv/argot/argot.db")
    copy.set_defaults(run=cmd_copy)
