"""Importing a team's FAQ: the answers become documents, the pairs training positives.

Two formats:
- JSONL, one `{"question": "...", "answer": "..."}` per line; optional `id` (the
  answer's doc id), `url`, `title`;
- Markdown, where every heading that ends in `?` is a question and the text below it,
  down to the next heading of the same or a higher level, is its answer.

Each pair (question → its answer) is a training positive for the learning loop, with
negatives drawn from the other answers in the same file: a FAQ's answers are about
different things by construction, so another answer is a safe "not this one".

Example:
    >>> entries = read_faq(Path("faq.md"))
    >>> ingestor.ingest(faq_documents(entries))
    >>> store.add_training_pairs(faq_training_pairs(entries))
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from engine.embedders import slug
from engine.errors import IngestError
from engine.feedback import TrainingPair
from engine.knowledge import markdown
from engine.knowledge.jsonl import json_lines
from engine.knowledge.sources import read_text
from engine.types import Document

NEGATIVES_PER_PAIR = 3


@dataclass(frozen=True)
class FaqEntry:
    question: str
    answer: str
    doc_id: str
    url: str = ""
    where: str = ""


def read_faq(path: Path, prefix: str | None = None) -> list[FaqEntry]:
    """Read a FAQ file; raises IngestError naming the file (and line) on bad input.

    Args:
        path: a `.jsonl` or `.md` / `.markdown` file.
        prefix: the folder part of generated doc ids (default `faq/<file stem>`, or `faq`
            for a file called faq).
    """
    path = Path(path)
    text = read_text(path)
    if prefix is None:
        prefix = "faq" if slug(path.stem) in {"faq", "faqs"} else f"faq/{slug(path.stem)}"
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = parse_jsonl(text, str(path))
    elif suffix in {".md", ".markdown"}:
        rows = parse_markdown(text, str(path))
    else:
        raise IngestError(f"{path}: a FAQ is .jsonl (question/answer per line) or Markdown "
                          f"with question headings, not {suffix or 'a file without suffix'}")
    if not rows:
        raise IngestError(f"{path}: no questions found. JSONL needs \"question\" and \"answer\" "
                          "on each line; Markdown needs headings that end with '?'")
    entries: list[FaqEntry] = []
    taken: set[str] = set()
    for question, answer, given_id, url, where in rows:
        doc_id = given_id or unique_id(f"{prefix}/{slug(question, 60)}", taken)
        if doc_id in taken:
            raise IngestError(f"{where}: duplicate id {doc_id!r}")
        taken.add(doc_id)
        entries.append(FaqEntry(question, answer, doc_id, url, where))
    return entries


def unique_id(base: str, taken: set[str]) -> str:
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def parse_jsonl(text: str, label: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for line in json_lines(text, label):
        where = line.where
        try:
            row = line.object('an object with "question" and "answer"')
        except ValueError as exc:
            raise IngestError(f"{where}: {exc}") from None
        question, answer = row.get("question"), row.get("answer")
        if not isinstance(question, str) or not question.strip():
            raise IngestError(f"{where}: \"question\" is missing or empty")
        if not isinstance(answer, str) or not answer.strip():
            raise IngestError(f"{where}: \"answer\" is missing or empty")
        doc_id = row.get("id", "")
        if not isinstance(doc_id, str):
            raise IngestError(f"{where}: \"id\" must be a string")
        rows.append((" ".join(question.split()), answer.strip(), doc_id.strip(),
                     str(row.get("url", "") or ""), where))
    return rows


def parse_markdown(text: str, label: str) -> list[tuple[str, str, str, str, str]]:
    """Question headings and the text under them; code blocks are not headings."""
    rows = []
    current: tuple[int, str, int] | None = None  # (level, question, line)
    body: list[str] = []

    def close() -> None:
        if current is not None:
            answer = "\n".join(body).strip()
            if answer:
                rows.append((current[1], answer, "", "", f"{label}:{current[2]}"))

    for line in markdown.lines(text):
        found = line.heading
        if found is not None and found.text.endswith("?"):
            close()
            current, body = (found.level, " ".join(found.text.split()), line.number), []
        elif found is not None and current is not None and found.level <= current[0]:
            close()
            current, body = None, []
        elif current is not None:
            body.append(line.text)
    close()
    return rows


def faq_documents(entries: list[FaqEntry], source: str = "") -> list[Document]:
    """One document per answer, titled with its question."""
    return [Document(doc_id=e.doc_id, text=e.answer, title=e.question, url=e.url,
                     source=source or e.where.rsplit(":", 1)[0], metadata={"kind": "faq"})
            for e in entries]


def faq_training_pairs(entries: list[FaqEntry], negatives: int = NEGATIVES_PER_PAIR
                       ) -> list[TrainingPair]:
    """Each question → its answer, with up to `negatives` other answers as negatives.

    The negatives are a stable pseudo-random draw (seeded by the question), so a
    re-import produces the same pairs.
    """
    ids = [e.doc_id for e in entries]
    pairs = []
    for entry in entries:
        others = [doc_id for doc_id in ids if doc_id != entry.doc_id]
        seed = int(hashlib.sha1(entry.question.encode("utf-8")).hexdigest()[:8], 16)
        drawn = random.Random(seed).sample(others, min(negatives, len(others)))
        pairs.append(TrainingPair("faq", entry.question, entry.doc_id, tuple(drawn)))
    return pairs
