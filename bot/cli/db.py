"""`argot db upgrade`: bring the feedback database's schema up to date (Alembic)."""

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


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="the feedback database: `argot db upgrade`")
    verbs = db.add_subparsers(dest="db_command", required=True, metavar="VERB")
    up = verbs.add_parser("upgrade", help="bring the schema up to date, keeping every row (safe "
                                          "to run from several machines at once)")
    up.set_defaults(run=cmd_upgrade)
