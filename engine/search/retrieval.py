"""Finding documents for a question: dense (embeddings), BM25 (words), or a hybrid.

`Searcher` is the one retrieval stack: answers (`Retriever`, over the live index) and
`argot eval` and the learning loop (over vectors they inject) all search through it.
A question is cleaned, optionally expanded, then ranked by each channel: dense (the
nearest chunks to the question's vector), BM25, and any extra ranked lists; each list
holds one best chunk per document. The hybrid fuses the lists with weighted
reciprocal-rank fusion (`engine.search.fusion`), which needs no score calibration
between a cosine and a BM25 score.

Tip:
    `hybrid` is the default: on the team-jargon demo questions it beats dense and
    BM25 alone (nDCG@10 0.855 against 0.836 and 0.809); on plain-English Debian FAQ
    questions dense is slightly ahead on nDCG@10 while hybrid has the best Recall@10
    (docs/benchmarks.md). Jargon the model has never seen is often an exact word
    match, which BM25 catches and dense search misses.

Example:
    >>> searcher = Retriever(index, embedder)                       # what answers
    >>> searcher.search("what is RLQ?", k=5, channel="C123")
    >>> Searcher(ExactVectors(corpus, vectors), Bm25.over(corpus.chunks), embedder,
    ...          expansions=[glossary.expand], rankers=[Weighted("memory", memory, 0.5)])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from engine.batching import batching
from engine.embedders import TextEmbedder
from engine.errors import QueryError
from engine.index import ChunkIndex, visibility_filter
from engine.search.fusion import FUSION_DEPTH, Mode, WeightedRanking, check_mode, fuse
from engine.search.lexical import Bm25, LexicalIndex
from engine.search.ranking import RankedChunk, best_per_document, to_hit
from engine.types import Chunk, Hit

MAX_QUERY_CHARS = 2000
CHUNKS_PER_DOC = 4
"""Chunks fetched per wanted document from a nearest-chunk source, so that k distinct
documents survive grouping."""


def clean_query(text: str) -> str:
    """A question as the engine takes it: stripped, non-empty, at most MAX_QUERY_CHARS."""
    query = " ".join(text.split())
    if not query:
        raise QueryError("The question is empty. Ask something, e.g. \"what is Project Phoenix?\"")
    return query[:MAX_QUERY_CHARS]


@dataclass(frozen=True)
class Query:
    """A question on its way through the stack.

    `text` is what the embedder reads and `words` what BM25 reads: an expansion step
    may add to either. `vector` is set once the question is embedded (hybrid mode).
    """

    text: str
    words: str
    channel: str | None = None
    vector: np.ndarray | None = None


Expansion = Callable[[Query], Query]
"""A query-expansion step, e.g. `lambda q: replace(q, words=q.words + " rate limit queue")`."""


class VectorSource(Protocol):
    """Where dense search looks."""

    def nearest(self, vector: np.ndarray, k: int, channel: str | None) -> list[RankedChunk]:
        """Up to k chunks nearest `vector`, visible in `channel`, best first. An exact
        source may return only each document's best chunk: grouping keeps no other."""
        ...


class LexicalSource(Protocol):
    def search(self, query: str, k: int, channel: str | None) -> list[RankedChunk]:
        """The k best documents for the words of `query`, one best chunk each."""
        ...

    def unfamiliar(self, query: str, channel: str | None) -> bool:
        """Whether `query` holds a word no document `channel` may see uses."""
        ...


class Ranker(Protocol):
    def rank(self, query: Query, depth: int) -> list[RankedChunk]:
        """Up to `depth` documents for `query`, one chunk each, best first."""
        ...


@dataclass(frozen=True)
class Weighted:
    """An extra ranked list for the hybrid: a name (for reports), a ranker, its weight."""

    name: str
    ranker: Ranker
    weight: float = 1.0


class IndexVectors:
    """Dense search in Chroma (HNSW), visibility filtered in the query.

    Chroma returns only chunk ids and distances; the chunks themselves come from the
    BM25 index's copy in memory (`known`), and from Chroma only for a chunk that copy
    does not hold yet (a document ingested in the last few seconds, or before BM25's
    first use). Reading 80 chunks' texts and metadata back took most of a query."""

    def __init__(self, index: ChunkIndex, known: Callable[[], Bm25 | None] | None = None) -> None:
        self.index = index
        self.known = known

    def nearest(self, vector: np.ndarray, k: int, channel: str | None) -> list[RankedChunk]:
        found = self.index.nearest_ids(vector, k, visibility_filter(channel))
        bm25 = self.known() if self.known is not None else None
        chunks: dict[str, Chunk] = {}
        if bm25 is not None:
            chunks = {chunk_id: chunk for chunk_id, _ in found if (chunk := bm25.chunk(chunk_id))}
        chunks.update(self.index.chunks_by_id([chunk_id for chunk_id, _ in found if chunk_id not in chunks]))
        return [RankedChunk(chunks[chunk_id], similarity) for chunk_id, similarity in found
                if chunk_id in chunks]


class Searcher:
    """Answers questions with one embedder over injected dense and lexical sources.

    Args:
        vectors: where dense search looks; None for a BM25-only searcher.
        lexical: BM25 over the same chunks (`engine.search.lexical`).
        embedder: embeds the question; None for a BM25-only searcher.
        mode: the default mode ("dense", "bm25" or "hybrid").
        expansions: steps applied, in order, to every cleaned question.
        rankers: extra ranked lists fused in hybrid mode, after dense and BM25.
        weights: the fusion weights of "dense" and "bm25" (1.0 each: plain RRF).
        unfamiliar_weights: the fusion weights for a question holding a word no document
            uses (`Bm25.unfamiliar`: the team's own words, which BM25 cannot match);
            None: `weights` for every question.
    """

    def __init__(self, vectors: VectorSource | None, lexical: LexicalSource,
                 embedder: TextEmbedder | None, mode: Mode = "hybrid", *,
                 expansions: Sequence[Expansion] = (), rankers: Sequence[Weighted] = (),
                 weights: dict[str, float] | None = None,
                 unfamiliar_weights: dict[str, float] | None = None) -> None:
        self.vectors = vectors
        self.lexical = lexical
        self.embedder = embedder
        self.mode = check_mode(mode)
        self.expansions = list(expansions)
        self.rankers = list(rankers)
        self.weights = {"dense": 1.0, "bm25": 1.0, **(weights or {})}
        self.unfamiliar_weights = ({"dense": 1.0, "bm25": 1.0, **unfamiliar_weights}
                                   if unfamiliar_weights is not None else None)

    def search(self, question: str, k: int = 5, *, channel: str | None = None,
               mode: Mode | None = None, exclude: Iterable[str] = ()) -> list[Hit]:
        """The k best documents for a question, visible in `channel` (None: all)."""
        query = self.query(question, channel)
        if k < 1:
            raise QueryError("k must be at least 1")
        mode = check_mode(mode or self.mode)
        excluded = set(exclude)
        want = k + len(excluded)
        if mode == "dense":
            ranked = self.dense(query, want)
        elif mode == "bm25":
            ranked = self.lexical.search(query.words, want, channel)
        else:
            ranked = fuse(self.ranked_lists(query, max(want, FUSION_DEPTH)), want)
        return [to_hit(item) for item in ranked if item.chunk.doc_id not in excluded][:k]

    def query(self, question: str, channel: str | None = None) -> Query:
        """The cleaned question, after every expansion step."""
        text = clean_query(question)
        query = Query(text, text, channel)
        for expand in self.expansions:
            query = expand(query)
        return query

    def ranked_lists(self, query: Query, depth: int) -> list[WeightedRanking]:
        """What the hybrid fuses: dense, BM25 and the extra rankers, with their weights."""
        query = self.embedded(query)
        weights = self.weights_for(query)
        lists: list[WeightedRanking] = [
            (self.dense(query, depth), weights["dense"]),
            (self.lexical.search(query.words, depth, query.channel), weights["bm25"])]
        lists += [(extra.ranker.rank(query, depth), extra.weight) for extra in self.rankers]
        return lists

    def weights_for(self, query: Query) -> dict[str, float]:
        """The fusion weights of this question: `unfamiliar_weights` when it holds a word
        that no document the asker may see uses, else `weights`."""
        if self.unfamiliar_weights is not None and self.lexical.unfamiliar(query.words, query.channel):
            return self.unfamiliar_weights
        return self.weights

    def dense(self, query: Query, k: int) -> list[RankedChunk]:
        """The k best documents by the cosine of their best chunk."""
        vector = self.embedded(query).vector
        nearest = self._dense_parts()[0].nearest(vector, k * CHUNKS_PER_DOC, query.channel)
        return best_per_document(nearest, k)

    def embedded(self, query: Query) -> Query:
        """The query with its vector (embedded once, then carried along)."""
        if query.vector is not None:
            return query
        return replace(query, vector=self._dense_parts()[1].embed_query(query.text))

    def _dense_parts(self) -> tuple[VectorSource, TextEmbedder]:
        if self.vectors is None or self.embedder is None:
            raise ValueError("this searcher has no vectors or embedder: use mode \"bm25\"")
        return self.vectors, self.embedder


class Retriever(Searcher):
    """The searcher that answers: one model's collection (Chroma) with its embedder.

    Its questions are embedded through `engine.batching` (questions asked together on
    several threads share one forward pass; a lone question goes at once)."""

    def __init__(self, index: ChunkIndex, embedder: TextEmbedder, mode: Mode = "hybrid", *,
                 expansions: Sequence[Expansion] = (), rankers: Sequence[Weighted] = (),
                 weights: dict[str, float] | None = None,
                 unfamiliar_weights: dict[str, float] | None = None) -> None:
        self.index = index
        lexical = LexicalIndex(index)
        self.lexical: LexicalIndex
        super().__init__(IndexVectors(index, lexical.loaded), lexical, batching(embedder), mode,
                         expansions=expansions, rankers=rankers, weights=weights,
                         unfamiliar_weights=unfamiliar_weights)

    @property
    def collection(self) -> str:
        """The collection it searches (its embedder's `model_id`)."""
        return self.index.collection
