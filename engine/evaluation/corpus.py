"""A fixed corpus held in memory, and exact dense search over one model's vectors of it.

The index answers with approximate (HNSW) search in one model's collection; to compare
models, each one's chunk vectors are held in numpy instead and searched exactly by
`ExactVectors`, the vector source that `argot eval` and the learning loop inject into
`engine.search.retrieval.Searcher`. A document is scored by its best chunk, as in
answers; ties go to the smaller doc id (`engine.search.ranking`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.knowledge.chunking import chunk_document
from engine.search.ranking import (
    RankedChunk,
    best_chunks,
    document_maxima,
    group_by_document,
    top_documents,
    top_rows,
)
from engine.types import Chunk, Document

QUERY_BLOCK = 256
"""Questions scored together: bounds the (questions × chunks) matrix."""


@dataclass(frozen=True)
class EvalCorpus:
    """Chunks grouped by document: `starts[i]` is where document `doc_ids[i]` begins."""

    chunks: tuple[Chunk, ...]
    doc_ids: tuple[str, ...]
    starts: np.ndarray

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> EvalCorpus:
        return cls(*group_by_document(chunks))

    @classmethod
    def from_index(cls, index: Any) -> EvalCorpus:
        """Every chunk of one index version (a `ChunkIndex`)."""
        return cls.from_chunks(chunk for chunk, _ in index.iter_chunks())

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> EvalCorpus:
        """doc_id → text, chunked the way ingestion chunks."""
        chunks: list[Chunk] = []
        for doc_id, text in texts.items():
            chunks.extend(chunk_document(Document(doc_id=doc_id, text=text)))
        return cls.from_chunks(chunks)

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def texts(self) -> list[str]:
        return [chunk.embedding_text for chunk in self.chunks]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha1()
        for chunk in self.chunks:
            digest.update(chunk.chunk_id.encode("utf-8", "surrogatepass") + b"\x00")
            digest.update(chunk.embedding_text.encode("utf-8", "surrogatepass") + b"\x01")
        return digest.hexdigest()[:16]

    def document_texts(self) -> dict[str, str]:
        """doc_id → the text of its chunks, as the model sees them, joined."""
        texts: dict[str, list[str]] = {}
        for chunk in self.chunks:
            texts.setdefault(chunk.doc_id, []).append(chunk.embedding_text)
        return {doc_id: "\n\n".join(parts) for doc_id, parts in texts.items()}

    def best_per_document(self, chunk_scores: np.ndarray) -> np.ndarray:
        """(queries, chunks) → (queries, documents): each document's best chunk score."""
        return document_maxima(chunk_scores, self.starts)

    def document_vectors(self, chunk_vectors: np.ndarray) -> np.ndarray:
        """One normalised vector per document: the mean of its chunks (for the star map)."""
        if not len(self.doc_ids):
            return np.zeros((0, chunk_vectors.shape[1] if chunk_vectors.ndim == 2 else 0))
        counts = np.diff(np.append(self.starts, len(self.chunks)))[:, None]
        means = np.add.reduceat(chunk_vectors, self.starts, axis=0) / counts
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


def as_corpus(corpus: EvalCorpus | Mapping[str, str] | Iterable[Chunk]) -> EvalCorpus:
    if isinstance(corpus, EvalCorpus):
        return corpus
    if isinstance(corpus, Mapping):
        return EvalCorpus.from_texts(corpus)
    return EvalCorpus.from_chunks(corpus)


class ExactVectors:
    """One model's chunk vectors of a corpus, searched exactly (a `VectorSource`).

    The corpus has no channels: every document is visible, so `channel` must be None.
    """

    def __init__(self, corpus: EvalCorpus, vectors: np.ndarray) -> None:
        if len(vectors) != len(corpus.chunks):
            raise ValueError(f"{len(corpus.chunks)} chunks but {len(vectors)} vectors")
        self.corpus = corpus
        self.vectors = vectors

    def document_scores(self, query_vectors: np.ndarray) -> np.ndarray:
        return self.corpus.best_per_document(np.atleast_2d(query_vectors) @ self.vectors.T)

    def nearest(self, vector: np.ndarray, k: int, channel: str | None = None) -> list[RankedChunk]:
        """The best chunk of each of the k best documents (all a grouping would keep)."""
        if channel is not None:
            raise ValueError("an evaluation corpus has no channels: search it with channel None")
        if not self.corpus.chunks:
            return []
        chunk_scores = (np.atleast_2d(vector) @ self.vectors.T)[0]
        documents = self.corpus.best_per_document(chunk_scores[None, :])[0]
        rows = top_rows(documents, self.corpus.doc_ids, k)
        return best_chunks(chunk_scores, documents, rows, self.corpus.chunks, self.corpus.starts)

    def rank_vectors(self, query_vectors: np.ndarray, k: int) -> list[list[str]]:
        """The k best doc ids for each of many questions' vectors, the order `nearest` gives."""
        rankings: list[list[str]] = []
        for start in range(0, len(query_vectors), QUERY_BLOCK):
            scores = self.document_scores(query_vectors[start:start + QUERY_BLOCK])
            rankings.extend(top_documents(row, self.corpus.doc_ids, k) for row in scores)
        return rankings
