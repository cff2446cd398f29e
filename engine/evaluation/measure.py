"""Measuring one model (or BM25) on the team's own questions, through the search that answers.

Every ranking comes from `engine.search.retrieval.Searcher`, the stack that answers in
Slack, with the corpus held in memory (`ExactVectors`: exact search, best chunk per
document) and the questions embedded in one batch (`QueryVectors`). Every score is
computed by `engine.evaluation.metrics.score_rankings`, so dense models, BM25 and the
hybrid are compared on the same corpus and the same questions. The learning loop
uses `evaluate_dense` / `evaluate` on the held-out slice (`held_out`) to gate a
candidate; `argot eval` uses `engine.evaluation.compare.compare` for the whole table.

Tip:
    Start with the default MiniLM and `argot eval` on 50-100 real questions: a model
    that wins on MTEB may not win on your jargon. Pick the model on nDCG@10; look at
    Recall@5 when people read several answers, and at query ms on your hardware.

Example:
    >>> corpus = EvalCorpus.from_index(services.index())
    >>> queries = QuerySet.load(Path("questions.jsonl")).restricted_to(corpus.doc_ids)
    >>> evaluate_dense(services.embedder(), corpus, queries).ndcg_at_10
    0.71
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.corpus import EvalCorpus, ExactVectors, as_corpus
from engine.evaluation.metrics import RankingScores, score_rankings
from engine.evaluation.querysets import QuerySet
from engine.evaluation.vectors import EmbeddingCache, QueryVectors
from engine.search.fusion import Mode, check_mode
from engine.search.lexical import Bm25
from engine.search.retrieval import Searcher, clean_query
from engine.types import Chunk

K = 10
CorpusLike = EvalCorpus | Mapping[str, str] | Iterable[Chunk]


def corpus_searcher(corpus: EvalCorpus, embedder: TextEmbedder | None = None,
                    vectors: np.ndarray | None = None, *, lexical: Bm25 | None = None,
                    mode: Mode = "hybrid") -> Searcher:
    """The answering stack over a corpus in memory: `vectors` are `embedder`'s chunk
    vectors of `corpus` (None, with no embedder, for a BM25-only searcher). Wrap the
    embedder in `QueryVectors` to serve questions embedded ahead of time."""
    dense = ExactVectors(corpus, vectors) if vectors is not None else None
    return Searcher(dense, lexical or Bm25.over(corpus.chunks), embedder, mode)


def search_rankings(searcher: Searcher, queries: QuerySet | Sequence[str], mode: Mode,
                    k: int = K) -> list[list[str]]:
    """The doc ids `searcher` answers each question with, best first."""
    texts = queries.texts if isinstance(queries, QuerySet) else list(queries)
    return [[hit.doc_id for hit in searcher.search(text, k, mode=mode)] for text in texts]


def question_rankings(corpus: CorpusLike, queries: QuerySet, embedder: TextEmbedder | None = None,
             mode: Mode = "dense", *, cache: EmbeddingCache | None = None,
             vectors: np.ndarray | None = None) -> list[list[str]]:
    """The top-10 doc ids per question that `argot eval` scores, for one model and mode.

    `vectors`: the model's chunk vectors when the caller has them (else from `cache`)."""
    corpus = as_corpus(corpus)
    mode = check_mode(mode)
    if mode == "bm25":
        return search_rankings(corpus_searcher(corpus, mode=mode), queries, mode)
    if embedder is None:
        raise ValueError(f"mode {mode!r} needs an embedder")
    if vectors is None:
        vectors = (cache or EmbeddingCache(None)).corpus_vectors(embedder, corpus).vectors
    questions = QueryVectors.embedded(embedder, [clean_query(text) for text in queries.texts])
    return search_rankings(corpus_searcher(corpus, questions, vectors, mode=mode), queries, mode)


def evaluate(corpus: CorpusLike, queries: QuerySet, embedder: TextEmbedder | None = None,
             mode: Mode = "dense", *, cache: EmbeddingCache | None = None,
             vectors: np.ndarray | None = None) -> RankingScores:
    """nDCG@10, MRR@10, Recall@1/5/10 of one model (or BM25) in one mode.

    Args:
        corpus: an `EvalCorpus`, `{doc_id: text}` or chunks.
        queries: the questions and their relevant doc ids.
        embedder: the model; not needed for "bm25".
        mode: "dense", "bm25" or "hybrid" (dense and BM25 fused as answers fuse them).
        cache: where corpus embeddings are kept between runs; None embeds afresh.
        vectors: the model's chunk vectors of `corpus`, when the caller has them.
    """
    found = question_rankings(corpus, queries, embedder, mode, cache=cache, vectors=vectors)
    return score_rankings(zip(found, [set(q.relevant) for q in queries], strict=True))


def evaluate_dense(embedder: TextEmbedder, corpus: CorpusLike, queries: QuerySet, *,
                   cache: EmbeddingCache | None = None,
                   vectors: np.ndarray | None = None) -> RankingScores:
    """One embedding model, exact cosine search, each document scored by its best chunk."""
    return evaluate(corpus, queries, embedder, "dense", cache=cache, vectors=vectors)


def evaluate_retriever(retriever: Any, queries: QuerySet, mode: Mode | None = None
                       ) -> RankingScores:
    """The production path: `Retriever.search` against its Chroma collection (HNSW)."""
    found = [[hit.doc_id for hit in retriever.search(q.query, k=K, mode=mode)] for q in queries]
    return score_rankings(zip(found, [set(q.relevant) for q in queries], strict=True))


def ir_evaluator_scores(model: Any, documents: Mapping[str, str], queries: QuerySet
                        ) -> RankingScores:
    """sentence-transformers' `InformationRetrievalEvaluator` on a document-level corpus.

    An independent computation of the same metrics (cosine, ties by doc id): where
    each document is one chunk, it must agree with `evaluate_dense`. `model` is a
    `SentenceTransformer` or any `TextEmbedder`.
    """
    from sentence_transformers.sentence_transformer.evaluation import (
        InformationRetrievalEvaluator,
    )
    from sentence_transformers.util import cos_sim

    if isinstance(model, TextEmbedder):
        model = _EmbedderAsModel(model)
    ids = [str(i) for i in range(len(queries))]
    evaluator = InformationRetrievalEvaluator(
        queries=dict(zip(ids, queries.texts, strict=True)), corpus=dict(documents),
        relevant_docs={i: set(q.relevant) for i, q in zip(ids, queries, strict=True)},
        mrr_at_k=[K], ndcg_at_k=[K], accuracy_at_k=[1, 5, K], precision_recall_at_k=[1, 5, K],
        map_at_k=[K], write_csv=False, score_functions={"cosine": cos_sim})
    found = evaluator.compute_all_metrics(model)["cosine"]
    return RankingScores(ndcg_at_10=float(found["ndcg@k"][K]), mrr_at_10=float(found["mrr@k"][K]),
                         recall_at_1=float(found["recall@k"][1]),
                         recall_at_5=float(found["recall@k"][5]),
                         recall_at_10=float(found["recall@k"][K]), queries=len(ids))


class _EmbedderAsModel:
    """Just enough of a SentenceTransformer for the evaluator: encode_query/_document."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder

    def encode_query(self, sentences: Sequence[str], **_: Any) -> Any:
        import torch

        return torch.from_numpy(self.embedder.embed_batch(list(sentences), "query"))

    def encode_document(self, sentences: Sequence[str], **_: Any) -> Any:
        import torch

        return torch.from_numpy(self.embedder.embed_batch(list(sentences), "document"))
