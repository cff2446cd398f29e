"""One model as the learning levers see it, and the serving stack's answers with it.

Choosing the levers answers the same questions with the same model many times: each
cross-check fold embeds the other folds' rated questions for the feedback memory, with and
without the vocabulary, once per model. `remembering` gives a side whose embedder keeps
its questions' vectors (`engine.evaluation.vectors.QueryVectors`), so each text is
embedded once: on the Debian FAQ benchmark, the memory's embeddings were half of choosing
the levers.

Example:
    >>> side = remembering(ModelSide("active", embedder, vectors))
    >>> lists = question_lists(corpus, held_out, side, vocabulary, memory)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.corpus import EvalCorpus, ExactVectors
from engine.evaluation.querysets import QuerySet
from engine.evaluation.vectors import QueryVectors
from engine.search.fusion import FUSION_DEPTH
from engine.search.lexical import Bm25
from engine.search.memory import FeedbackMemory, MemoryRanker, chunk_lookup
from engine.search.retrieval import Searcher, Weighted
from engine.search.vocabulary import Vocabulary


@dataclass(frozen=True)
class ModelSide:
    """One model as the levers see it: its embedder and its vectors of the corpus."""

    name: str
    """"active" or "candidate"."""
    embedder: TextEmbedder
    vectors: np.ndarray
    corpus: EvalCorpus | None = None
    """The chunks `vectors` are of, when not every chunk (a cross-fitted half's pool)."""


def remembering(side: ModelSide) -> ModelSide:
    """The same side, its embedder keeping every question's vector once embedded."""
    if isinstance(side.embedder, QueryVectors):
        return side
    return replace(side, embedder=QueryVectors(side.embedder))


def question_lists(corpus: EvalCorpus, queries: QuerySet, side: ModelSide, vocabulary: Vocabulary,
                   memory: FeedbackMemory | None, bm25: Bm25 | None = None
                   ) -> list[list[list[str]]]:
    """Per question: its dense, BM25 (and memory) rankings, doc ids, from the serving stack."""
    bm25 = bm25 or Bm25.over(corpus.chunks)
    rankers = [Weighted("memory", MemoryRanker(memory, chunk_lookup(bm25.chunks)), 1.0)] \
        if memory is not None and len(memory) else []
    vectors = ExactVectors(corpus if side.corpus is None else side.corpus, side.vectors)
    searcher = Searcher(vectors, bm25, side.embedder, "hybrid",
                        expansions=[vocabulary.expand] if vocabulary else [], rankers=rankers)
    asked = [searcher.query(text) for text in queries.texts]
    embedded = side.embedder.embed_batch([query.text for query in asked], "query")
    found = []
    for query, vector in zip(asked, embedded, strict=True):
        ranked = searcher.ranked_lists(replace(query, vector=vector), FUSION_DEPTH)
        found.append([[item.chunk.doc_id for item in ranking] for ranking, _ in ranked])
    return found
