"""The nouns of Argot's engine, shared by every module."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One thing a team wrote: a page, an FAQ answer, a glossary entry.

    `doc_id` is the id everywhere (answers, feedback, evaluation). `channels`, when
    set, limits the document to those Slack channels; None means visible everywhere.
    """

    doc_id: str
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    channels: tuple[str, ...] | None = None

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes."""
        digest = hashlib.sha256()
        for part in (self.title, self.text, self.url, self.source, repr(sorted(self.metadata.items())),
                     repr(self.channels)):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to embed; remembers where it came from."""

    doc_id: str
    position: int
    text: str
    title: str = ""
    source: str = ""
    url: str = ""
    heading: str = ""

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.position}"

    @property
    def embedding_text(self) -> str:
        """What the model sees: the title and section give a chunk its context."""
        context = " > ".join(part for part in (self.title, self.heading) if part)
        return f"{context}\n{self.text}" if context else self.text


@dataclass(frozen=True)
class Hit:
    """A document that answers a question, represented by its best-matching chunk."""

    doc_id: str
    title: str
    score: float
    text: str
    url: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "score": round(self.score, 6),
            "text": self.text,
            "url": self.url,
            "source": self.source,
        }
