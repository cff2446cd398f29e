"""Feedback memory: a question close to one already rated brings back the document
people chose for it.

The memory holds the rated (training) questions with their 👍 documents and their
vectors from the model that answers. A new question whose vector is within
`threshold` cosine of a remembered one gets those documents as one more ranked list
in the hybrid (`engine.search.retrieval.Weighted`), the nearest remembered question
first; the fusion weight of that list is learnt with the others.

Example:
    >>> memory = FeedbackMemory(["who owns the tollbooth"], [("wiki/api-gateway",)], vectors)
    >>> ranker = MemoryRanker(memory, lookup)
    >>> [item.chunk.doc_id for item in ranker.rank(query, 10)]
    ['wiki/api-gateway']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.search.ranking import RankedChunk
from engine.types import Chunk

DEFAULT_THRESHOLD = 0.8

ChunkLookup = Callable[[str, "str | None"], "Chunk | None"]
"""doc_id, channel → a chunk of that document visible in the channel, or None."""


@dataclass
class FeedbackMemory:
    questions: list[str]
    documents: list[tuple[str, ...]]
    """The 👍 documents of each question, best supported first."""
    vectors: np.ndarray
    """(questions, dimension), unit length, from the answering model."""
    threshold: float = DEFAULT_THRESHOLD

    def __len__(self) -> int:
        return len(self.questions)

    def recall(self, vector: np.ndarray, depth: int) -> list[str]:
        """Documents of remembered questions within the threshold, nearest first."""
        if not len(self.questions):
            return []
        similarity = self.vectors @ np.asarray(vector, dtype=np.float32).ravel()
        close = np.flatnonzero(similarity >= self.threshold)
        ordered = close[np.argsort(-similarity[close], kind="stable")]
        found: list[str] = []
        for row in ordered:
            for doc_id in self.documents[row]:
                if doc_id not in found:
                    found.append(doc_id)
            if len(found) >= depth:
                break
        return found[:depth]

    def with_threshold(self, threshold: float) -> FeedbackMemory:
        return FeedbackMemory(self.questions, self.documents, self.vectors, threshold)

    def as_rows(self) -> list[dict[str, Any]]:
        return [{"question": q, "documents": list(d)}
                for q, d in zip(self.questions, self.documents, strict=True)]


class MemoryRanker:
    """The memory as a `Ranker`; needs the question's vector (the hybrid sets it)."""

    def __init__(self, memory: FeedbackMemory, lookup: ChunkLookup) -> None:
        self.memory = memory
        self.lookup = lookup

    def rank(self, query: Any, depth: int) -> list[RankedChunk]:
        if query.vector is None:
            return []
        ranked: list[RankedChunk] = []
        for doc_id in self.memory.recall(query.vector, depth):
            chunk = self.lookup(doc_id, query.channel)
            if chunk is not None:  # forgotten since, or not visible in this channel
                ranked.append(RankedChunk(chunk, 1.0 / (len(ranked) + 1)))
        return ranked


def chunk_lookup(chunks: Sequence[Chunk], visible: Callable[[str | None], np.ndarray] | None = None
                 ) -> ChunkLookup:
    """A lookup over chunks grouped by document (a `Bm25`'s): each document's first
    chunk, if `visible(channel)` (a mask over the chunks) allows it."""
    first: dict[str, int] = {}
    for row, chunk in enumerate(chunks):
        first.setdefault(chunk.doc_id, row)

    def lookup(doc_id: str, channel: str | None) -> Chunk | None:
        row = first.get(doc_id)
        if row is None:
            return None
        if channel is not None and visible is not None and not visible(channel)[row]:
            return None
        return chunks[row]

    return lookup
