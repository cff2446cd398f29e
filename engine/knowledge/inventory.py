"""What Argot knows, in numbers a person reads: documents by where they came from.

`inventory(index)` counts the documents of the active collection by source: files,
web pages, saved Slack threads, glossary entries defined in Slack, FAQ answers; and how
many of them are private to one conversation. It reads chunk metadata only, and is
cached per collection generation, so opening the Home tab again costs nothing until the
index changes. `last_cycle(store)` is the newest finished learning cycle's record.

Example:
    >>> inventory(index).by_source
    {'files': 120, 'saved Slack threads': 4, 'glossary (defined in Slack)': 9}
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.index import ChunkIndex
from engine.schema import learning_cycles


@dataclass(frozen=True)
class Inventory:
    documents: int = 0
    private: int = 0
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def glossary(self) -> int:
        return self.by_source.get(GLOSSARY, 0)


GLOSSARY = "glossary (defined in Slack)"
_cache: dict[tuple[int, str, int, int], Inventory] = {}
_lock = threading.Lock()


def source_kind(metadata: dict[str, Any]) -> str:
    kind = str(metadata.get("m.kind") or "")
    doc_id = str(metadata.get("doc_id") or "")
    if kind == "glossary" or doc_id.startswith("defined/"):
        return GLOSSARY
    if kind == "slack-thread" or doc_id.startswith("slack/"):
        return "saved Slack threads"
    if kind == "answer" or doc_id.startswith("answers/"):
        return "answers given in Slack"
    if doc_id.startswith(("http://", "https://")):
        return "web pages"
    if doc_id.startswith("faq/") or kind == "faq":
        return "FAQ answers"
    return "files"


def inventory(index: ChunkIndex) -> Inventory:
    """The documents of `index`, counted once per generation of the collection."""
    key = (id(index.client), index.chroma_name, index.generation(), index.count())
    with _lock:
        if key in _cache:
            return _cache[key]
    kinds: dict[str, str] = {}
    private: set[str] = set()
    for _, metadata in index.iter_chunks(texts=False):
        doc_id = str(metadata["doc_id"])
        kinds.setdefault(doc_id, source_kind(metadata))
        if not metadata.get("public"):
            private.add(doc_id)
    counts: dict[str, int] = {}
    for kind in kinds.values():
        counts[kind] = counts.get(kind, 0) + 1
    found = Inventory(len(kinds), len(private), dict(sorted(counts.items(), key=lambda kv: -kv[1])))
    with _lock:
        _cache.clear()
        _cache[key] = found
    return found


def last_cycle(store: Any) -> dict[str, Any] | None:
    """The newest learning cycle that reached a decision: its decision, reason, finish
    time and report (None before the first)."""
    query = (select(learning_cycles).where(learning_cycles.c.decision.is_not(None))
             .order_by(learning_cycles.c.started_at.desc()).limit(1))
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return {"decision": row.decision, "reason": row.reason or "", "finished_at": row.finished_at,
            "report": json.loads(row.report) if row.report else {}}
