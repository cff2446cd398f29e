"""Finding documents for a question: dense (embeddings), BM25 (words), or a hybrid.

Results are documents, not raw chunks: each document is represented by its best chunk.
The hybrid fuses the two rankings with reciprocal-rank fusion (RRF), which needs no
score calibration between a cosine and a BM25 score.

Tip:
    `hybrid` is the default: on the team-jargon demo questions it beats dense and
    BM25 alone (nDCG@10 0.855 against 0.836 and 0.809); on plain-English Debian FAQ
    questions dense is slightly ahead on nDCG@10 while hybrid has the best Recall@10
    (docs/benchmarks.md). Jargon the model has never seen is often an exact word
    match, which BM25 catches and dense search misses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from engine.embedders import TextEmbedder
from engine.errors import QueryError
from engine.index import ChunkIndex, ChunkMatch, is_visible, visibility_filter
from engine.types import Chunk, Hit

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
MAX_QUERY_CHARS = 2000
RRF_K = 60
CHUNKS_PER_DOC = 4
"""Chunks fetched per wanted document, so that k distinct documents survive grouping."""


def clean_query(text: str) -> str:
    """A question as the engine takes it: stripped, non-empty, at most MAX_QUERY_CHARS."""
    query = " ".join(text.split())
    if not query:
        raise QueryError("The question is empty. Ask something, e.g. \"what is Project Phoenix?\"")
    return query[:MAX_QUERY_CHARS]


@dataclass(frozen=True)
class RankedChunk:
    chunk: Chunk
    score: float


def best_per_document(ranked: Iterable[RankedChunk], k: int) -> list[RankedChunk]:
    best: dict[str, RankedChunk] = {}
    for item in ranked:
        if item.chunk.doc_id not in best:
            best[item.chunk.doc_id] = item
            if len(best) == k:
                break
    return list(best.values())


class LexicalIndex:
    """BM25 over one collection's chunks, rebuilt when the collection changes."""

    def __init__(self, index: ChunkIndex, recheck_seconds: float = 5.0) -> None:
        self.index = index
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = 0.0
        self._model: Any = None
        self._chunks: list[Chunk] = []
        self._metadata: list[dict[str, Any]] = []

    def search(self, query: str, k: int, channel: str | None) -> list[RankedChunk]:
        import bm25s

        self._refresh()
        if not self._chunks:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        fetch = min(len(self._chunks), k * (8 if channel else 1))
        rows, scores = self._model.retrieve(tokens, k=fetch, show_progress=False, n_threads=1)
        ranked = []
        for row, score in zip(rows[0], scores[0], strict=True):
            if score <= 0 or not is_visible(self._metadata[row], channel):
                continue
            ranked.append(RankedChunk(self._chunks[row], float(score)))
        return ranked[:k]

    def _refresh(self) -> None:
        now = time.monotonic()
        if self._model is not None and now - self._checked_at < self.recheck_seconds:
            return
        with self._lock:
            generation = self.index.fresh_generation()
            self._checked_at = now
            if generation == self._generation and self._model is not None:
                return
            self._build(generation)

    def _build(self, generation: int) -> None:
        pairs = list(self.index.iter_chunks())
        chunks = [chunk for chunk, _ in pairs]
        self._model, self._chunks = bm25_model([chunk.embedding_text for chunk in chunks]), chunks
        self._metadata = [meta for _, meta in pairs]
        self._generation = generation


class Retriever:
    """Answers questions from one index version with one embedder."""

    def __init__(self, index: ChunkIndex, embedder: TextEmbedder, mode: Mode = "hybrid") -> None:
        if mode not in MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.lexical = LexicalIndex(index)

    @property
    def collection(self) -> str:
        return self.index.collection

    def search(self, question: str, k: int = 5, *, channel: str | None = None,
               mode: Mode | None = None, exclude: Iterable[str] = ()) -> list[Hit]:
        """The k best documents for a question, visible in `channel` (None: all)."""
        query = clean_query(question)
        if k < 1:
            raise QueryError("k must be at least 1")
        mode = mode or self.mode
        excluded = set(exclude)
        want = k + len(excluded)
        if mode == "dense":
            ranked = best_per_document(self.dense_chunks(query, want, channel), want)
        elif mode == "bm25":
            ranked = best_per_document(self.lexical.search(query, want * CHUNKS_PER_DOC, channel),
                                       want)
        else:
            ranked = self.hybrid(query, want, channel)
        return [to_hit(item) for item in ranked if item.chunk.doc_id not in excluded][:k]

    def search_vector(self, vector: np.ndarray, k: int, channel: str | None = None
                      ) -> list[Hit]:
        ranked = [RankedChunk(m.chunk, m.similarity)
                  for m in self.index.query(vector, k * CHUNKS_PER_DOC, visibility_filter(channel))]
        return [to_hit(item) for item in best_per_document(ranked, k)]

    def dense_chunks(self, query: str, k: int, channel: str | None) -> list[RankedChunk]:
        vector = self.embedder.embed_query(query)
        matches: list[ChunkMatch] = self.index.query(vector, k * CHUNKS_PER_DOC,
                                                     visibility_filter(channel))
        return [RankedChunk(match.chunk, match.similarity) for match in matches]

    def hybrid(self, query: str, k: int, channel: str | None) -> list[RankedChunk]:
        depth = max(k, 20)
        dense = best_per_document(self.dense_chunks(query, depth, channel), depth)
        lexical = best_per_document(self.lexical.search(query, depth * CHUNKS_PER_DOC, channel),
                                    depth)
        return rrf([dense, lexical], k)


def rrf_scores(rankings: Sequence[Sequence[str]]) -> dict[str, float]:
    """Reciprocal-rank fusion of doc-id rankings: Σ 1 / (RRF_K + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def rrf(rankings: list[list[RankedChunk]], k: int) -> list[RankedChunk]:
    """Reciprocal-rank fusion; the score is scaled so that first in every list is 1.0."""
    scores = rrf_scores([[item.chunk.doc_id for item in ranking] for ranking in rankings])
    representative: dict[str, RankedChunk] = {}
    for ranking in rankings:
        for item in ranking:  # dense chunk first: it read the meaning
            representative.setdefault(item.chunk.doc_id, item)
    best = len(rankings) / (RRF_K + 1)
    ordered = sorted(scores, key=lambda doc_id: -scores[doc_id])[:k]
    return [RankedChunk(representative[doc_id].chunk, scores[doc_id] / best) for doc_id in ordered]


def bm25_model(texts: Sequence[str]) -> Any:
    """A `bm25s.BM25` over `texts` (English stop words dropped), as answers and `argot eval` use."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    model = bm25s.BM25()
    if texts:
        model.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False),
                    show_progress=False)
    return model


def to_hit(item: RankedChunk) -> Hit:
    chunk = item.chunk
    return Hit(doc_id=chunk.doc_id, title=chunk.title, score=item.score, text=chunk.text,
               url=chunk.url, source=chunk.source)
