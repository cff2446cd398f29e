"""The demo knowledge base (bot/demo/, a fictional company called Quayline), loaded once.

Loading is idempotent: the ingestor skips documents whose content has not changed, so
the second `argot demo` starts in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services
    from engine.knowledge.ingest import IngestReport

DEMO = Path(__file__).resolve().parent.parent / "demo"
KNOWLEDGE_BASE = DEMO / "kb"
QUESTIONS = DEMO / "questions.jsonl"
TEAM = DEMO / "team.jsonl"
"""The demo team's slang questions ("Let the team rate"; written by bench/demo_team.py)."""


def load_demo(services: Services, say: Callable[[str], None] = lambda _: None) -> IngestReport:
    """Ingest bot/demo/kb as `argot ingest` does (text, and CLIP texts when image search
    is on, so pictures uploaded in the playground find documents); returns what changed."""
    from bot.knowledge import ingest
    from engine.errors import ArgotError
    from engine.knowledge.sources import collect

    collected = collect([shown_path(KNOWLEDGE_BASE)])
    if collected.errors:
        raise ArgotError(f"the demo knowledge base did not read cleanly: {collected.errors[0]}")
    return ingest(services, collected, say)


def shown_path(path: Path) -> str:
    """`bot/demo/kb` from the repository (as `argot ingest bot/demo/kb` names it, so the
    two load the same documents), the absolute path from anywhere else. Answers show it
    as each document's source."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def demo_settings(settings: Settings, *, own_home: bool = True) -> Settings:
    """The settings `argot demo` runs on.

    The demo keeps to a home of its own, `$ARGOT_HOME/demo` (its own embedded index,
    SQLite database and model registry, whatever DATABASE_URL and CHROMA_HOST say), so
    its documents and any model "learn now" promotes never land in a real index;
    `own_home=False` (`argot demo --in-home`) runs it on the configured home instead.
    Its learning gate judges candidates on the demo's own evaluation questions (unless
    ARGOT_GOLD_QUERIES names others): a newcomer's few ratings are too few to hold some out.
    """
    if own_home:
        settings = replace(settings, home=settings.home / "demo", database_url=None,
                           chroma_host=None, ops_channel=None)
    if settings.gold_queries is None:
        return replace(settings, gold_queries=QUESTIONS)
    return settings
