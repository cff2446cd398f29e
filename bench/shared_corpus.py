"""The shared public corpora (../shared/data) as Argot documents and questions.

Corpus: every Jargon File entry as "{term}: {definition}" plus every Debian FAQ answer.
Questions: each Debian FAQ question, whose one relevant document is its own answer.
The text stays in ../shared; nothing here is copied into the project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.types import Document

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def require_data() -> Path:
    if not (SHARED_DATA / "debian-faq.jsonl").exists():
        sys.exit(f"This benchmark needs the shared corpora in {SHARED_DATA} (jargon-file.jsonl, "
                 "debian-faq.jsonl): Debian's packages jargon-text and debian-faq, see its README.")
    return SHARED_DATA


def rows(name: str) -> list[dict]:
    with open(require_data() / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def jargon_documents() -> list[Document]:
    return [Document(doc_id=row["id"], title=row["term"], text=f"{row['term']}: {row['definition']}",
                     source="jargon-file") for row in rows("jargon-file.jsonl")]


def faq_documents() -> list[Document]:
    """The answers alone: titling them with their own question would give the task away."""
    return [Document(doc_id=row["id"], text=row["answer"], source="debian-faq")
            for row in rows("debian-faq.jsonl")]


def faq_questions() -> list[tuple[str, set[str]]]:
    return [(row["question"], {row["id"]}) for row in rows("debian-faq.jsonl")]


def corpus() -> list[Document]:
    return faq_documents() + jargon_documents()
