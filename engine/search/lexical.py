"""BM25 over chunks (bm25s), scored exactly and grouped into documents.

`Bm25` is the one builder: answers (`LexicalIndex`, over a live collection) and
`argot eval` (over a fixed corpus) both search through it. Every chunk is scored
(`bm25s.BM25.get_scores`, what `retrieve` does before it picks the top), chunks the
channel may not see score 0, and a document scores its best chunk's score. Documents
with no query word in them are left out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from engine.index import ChunkIndex
from engine.search import bm25store
from engine.search.ranking import RankedChunk, best_chunks, document_maxima, group_by_document, top_rows
from engine.search.tokens import QUESTION_WORDS, tokenize
from engine.types import Chunk


def bm25_model(texts: Sequence[str]) -> Any:
    """A `bm25s.BM25` over `texts`, tokenized as `engine.search.tokens` does."""
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
    model = bm25s.BM25()
    if texts:
        model.index([tokenize(text) for text in texts], show_progress=False)
    return model


def query_words(query: str) -> list[str]:
    """The query as BM25 reads it (`engine.search.tokens`: English stop words dropped,
    CJK as character bigrams)."""
    return tokenize(query)


class Bm25:
    """BM25 over a fixed set of chunks, answering with one best chunk per document.

    Args:
        chunks: (chunk, metadata) pairs; the metadata's `public` / `ch.<CHANNEL>` flags
            decide visibility (see `engine.index`). Use `Bm25.over` for chunks that
            every channel may see.
    """

    def __init__(self, chunks: Iterable[tuple[Chunk, dict[str, Any]]], model: Any = None) -> None:
        """`model`: a `bm25s.BM25` already built over these chunks (`engine.search.bm25store`)."""
        pairs = list(chunks)
        meta = {chunk.chunk_id: metadata for chunk, metadata in pairs}
        self.chunks, self.doc_ids, self.starts = group_by_document(chunk for chunk, _ in pairs)
        self.model = model if model is not None else bm25_model(
            [chunk.embedding_text for chunk in self.chunks])
        rows_of: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            for key, value in meta[chunk.chunk_id].items():
                if key.startswith("ch.") and value:
                    rows_of.setdefault(key[3:], []).append(row)
        self._by_id = {chunk.chunk_id: chunk for chunk in self.chunks}
        self._public = np.fromiter((bool(meta[chunk.chunk_id].get("public")) for chunk in self.chunks),
                                   dtype=bool, count=len(self.chunks))
        self._rows_of = {channel: np.asarray(rows) for channel, rows in rows_of.items()}

    @classmethod
    def over(cls, chunks: Iterable[Chunk]) -> Bm25:
        return cls((chunk, {"public": True}) for chunk in chunks)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: str, k: int, channel: str | None = None) -> list[RankedChunk]:
        """The k best documents for `query` visible in `channel` (None: all), best first."""
        if not self.chunks:
            return []
        words = [word for word in query_words(query) if word in self.model.vocab_dict]
        if not words:
            return []
        scores = np.asarray(self.model.get_scores(words), dtype=np.float32)
        if channel is not None:
            scores = np.where(self.visible(channel), scores, np.float32(0.0))
        documents = document_maxima(scores[None, :], self.starts)[0]
        rows = top_rows(documents, self.doc_ids, k, minimum=0.0)
        return best_chunks(scores, documents, rows, self.chunks, self.starts)

    def unfamiliar(self, query: str, channel: str | None = None) -> bool:
        """Whether `query` holds a word that no chunk `channel` may see contains (None: any
        chunk): a word of the team's own, a codename or slang the documents never use,
        which BM25 cannot match. Stop words and how people ask ("anyone know", "who") do not
        count."""
        if not self.chunks:
            return False
        words = set(query_words(query)) - QUESTION_WORDS
        if any(word not in self.model.vocab_dict for word in words):
            return True
        if channel is None or self._public.all():
            return False
        # A word only private chunks hold is unfamiliar here: nothing may tell the asker
        # that a document they cannot see uses it.
        visible = self.visible(channel)
        return any(not (np.asarray(self.model.get_scores([word]))[visible] > 0).any() for word in words)

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._by_id.get(chunk_id)

    def visible(self, channel: str) -> np.ndarray:
        """Which chunks `channel` may see: the public ones and those allowed there."""
        mask = self._public.copy()
        rows = self._rows_of.get(channel)
        if rows is not None:
            mask[rows] = True
        return mask


class LexicalIndex:
    """`Bm25` over one collection's chunks, rebuilt when the collection changes.

    A change made by this process (an ingest, a document restricted or forgotten) is seen
    by the next search; one made by another process (`argot forget` beside a running bot)
    within `recheck_seconds`, the interval at which the collection's generation is read
    from Chroma. A build is saved per collection generation (`engine.search.bm25store`),
    so the next process to need the same generation (a cold `argot ask`, the bot)
    memory-maps it instead of rebuilding."""

    def __init__(self, index: ChunkIndex, recheck_seconds: float = 5.0) -> None:
        self.index = index
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = 0.0
        self._writes = -1
        self._bm25: Bm25 | None = None

    def search(self, query: str, k: int, channel: str | None) -> list[RankedChunk]:
        return self._refresh().search(query, k, channel)

    def unfamiliar(self, query: str, channel: str | None) -> bool:
        return self._refresh().unfamiliar(query, channel)

    def current(self) -> Bm25:
        """The `Bm25` over the collection as it is now (rebuilt if it changed)."""
        return self._refresh()

    def loaded(self) -> Bm25 | None:
        """The `Bm25` in memory if it is still the collection's (checked as `current`
        checks); None before the first search, or when the collection changed since it
        was built, or while it is being rebuilt (the caller reads from Chroma then). Never
        builds, loads or waits for one: a dense-only searcher, which never calls
        `current`, still sees a page edited a moment ago with its new text."""
        bm25 = self._bm25
        writes = self.index.local_writes()
        if bm25 is None or self._checked_lately(writes, time.monotonic()):
            return bm25
        if not self._lock.acquire(blocking=False):
            return None  # being rebuilt: the caller reads from Chroma rather than wait
        try:
            if self.index.fresh_generation() != self._generation:
                return None
            self._checked_at, self._writes = time.monotonic(), writes
            return self._bm25
        finally:
            self._lock.release()

    def _refresh(self) -> Bm25:
        now = time.monotonic()
        bm25 = self._bm25
        writes = self.index.local_writes()  # read before the generation: a later write rechecks
        if bm25 is not None and self._checked_lately(writes, now):
            return bm25
        with self._lock:
            generation = self.index.fresh_generation()
            if generation != self._generation or self._bm25 is None:
                self._bm25 = self._saved_or_built(generation)
                self._generation = generation
            # Marked checked only now: while it was rebuilt, other searches waited (or,
            # in `loaded`, went to Chroma) instead of answering from the old copy.
            self._checked_at = now
            self._writes = writes
            return self._bm25

    def _checked_lately(self, writes: int, now: float) -> bool:
        """No write by this process since the last check, and that check is recent."""
        return writes == self._writes and now - self._checked_at < self.recheck_seconds

    def _saved_or_built(self, generation: int) -> Bm25:
        folder = bm25store.cache_folder(self.index)
        name = bm25store.key(self.index, generation)
        saved = bm25store.load(folder, name) if folder is not None else None
        if saved is not None:
            model, chunks = saved
            return Bm25(chunks, model=model)
        pairs = list(self.index.iter_chunks())
        bm25 = Bm25(pairs)
        if folder is not None and len(bm25):
            bm25store.save(folder, name, bm25.model, pairs)
        return bm25
