"""The demo knowledge base (bot/demo/, a fictional company called Quayline), loaded once.

Loading is idempotent: the ingestor skips documents whose content has not changed, so
the second `argot demo` starts in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services
    from engine.ingest import IngestReport

DEMO = Path(__file__).resolve().parent.parent / "demo"
KNOWLEDGE_BASE = DEMO / "kb"
QUESTIONS = DEMO / "questions.jsonl"


def load_demo(services: Services, say: Callable[[str], None] = lambda _: None) -> IngestReport:
    """Ingest bot/demo/kb into the active model's index; returns what changed."""
    from engine.errors import ArgotError
    from engine.sources import collect

    collected = collect([str(KNOWLEDGE_BASE)])
    if collected.errors:
        raise ArgotError(f"the demo knowledge base did not read cleanly: {collected.errors[0]}")
    return services.ingestor().ingest(
        collected.documents, progress=lambda done, total: say(f"embedded {done}/{total} chunks"))
