"""Measuring retrieval on the team's own questions: one model, or a whole table.

Every score is computed by `engine.evaluation.metrics.score_rankings` over document rankings from
`engine.search.rankers` (exact search, best chunk per document), so dense models, BM25 and
the hybrid are compared on the same corpus and the same questions. The learning loop
uses `evaluate_dense` / `evaluate` on the held-out slice (`held_out`) to gate a
candidate; `argot eval` uses `compare` for the whole table.

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

import logging
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine.embedders import TextEmbedder
from engine.errors import ArgotError
from engine.evaluation.metrics import RankingScores, score_rankings
from engine.evaluation.querysets import (  # noqa: F401 - re-exported: the learning loop imports them here
    HELD_OUT_SHARE,
    LabelledQuery,
    QuerySet,
    QuerySetError,
    held_out,
)
from engine.search.rankers import (
    HYBRID_DEPTH,
    Bm25Ranker,
    DenseRanker,
    EmbeddingCache,
    EvalCorpus,
    Progress,
    as_corpus,
    fuse,
)
from engine.types import Chunk

log = logging.getLogger(__name__)

K = 10
EvalMode = Literal["dense", "bm25", "hybrid"]
CorpusLike = EvalCorpus | Mapping[str, str] | Iterable[Chunk]


def evaluate(corpus: CorpusLike, queries: QuerySet, embedder: TextEmbedder | None = None,
             mode: EvalMode = "dense", *, cache: EmbeddingCache | None = None) -> RankingScores:
    """nDCG@10, MRR@10, Recall@1/5/10 of one model (or BM25) in one mode.

    Args:
        corpus: an `EvalCorpus`, `{doc_id: text}` or chunks.
        queries: the questions and their relevant doc ids.
        embedder: the model; not needed for "bm25".
        mode: "dense", "bm25" or "hybrid" (dense and BM25 fused as `Retriever` does).
        cache: where corpus embeddings are kept between runs; None embeds afresh.
    """
    corpus = as_corpus(corpus)
    relevant = [set(q.relevant) for q in queries]
    if mode == "bm25":
        lexical = Bm25Ranker(corpus)
        return score_rankings(zip([lexical.rank(q, K) for q in queries.texts], relevant,
                                  strict=True))
    if embedder is None:
        raise ValueError(f"mode {mode!r} needs an embedder")
    vectors = (cache or EmbeddingCache(None)).corpus_vectors(embedder, corpus).vectors
    dense = DenseRanker(embedder, corpus, vectors)
    query_vectors = embedder.embed_batch(queries.texts, "query") if len(queries) else []
    depth = K if mode == "dense" else max(K, HYBRID_DEPTH)
    rankings = dense.rank_vectors(np.asarray(query_vectors), depth)
    if mode == "hybrid":
        lexical = Bm25Ranker(corpus)
        rankings = [fuse([ranking, lexical.rank(text, depth)], K)
                    for ranking, text in zip(rankings, queries.texts, strict=True)]
    return score_rankings(zip(rankings, relevant, strict=True))


def evaluate_dense(embedder: TextEmbedder, corpus: CorpusLike, queries: QuerySet, *,
                   cache: EmbeddingCache | None = None) -> RankingScores:
    """One embedding model, exact cosine search, each document scored by its best chunk."""
    return evaluate(corpus, queries, embedder, "dense", cache=cache)


def evaluate_retriever(retriever: Any, queries: QuerySet, mode: EvalMode | None = None
                       ) -> RankingScores:
    """The production path: `Retriever.search` against its Chroma collection (HNSW)."""
    rankings = [[hit.doc_id for hit in retriever.search(q.query, k=K, mode=mode)]
                for q in queries]
    return score_rankings(zip(rankings, [set(q.relevant) for q in queries], strict=True))


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


# -- the whole table ------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCandidate:
    """A model to compare: a name for the table and how to load it (errors are caught)."""

    name: str
    load: Callable[[], TextEmbedder]


@dataclass
class ComparisonRow:
    name: str
    mode: str
    scores: RankingScores | None = None
    model_id: str = ""
    dimension: int | None = None
    size_bytes: int | None = None
    docs_per_second: float | None = None
    query_ms: float | None = None
    cached: bool = False
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "mode": self.mode, "model_id": self.model_id,
                **(self.scores.as_dict() if self.scores else {}),
                "dimension": self.dimension,
                "size_mb": round(self.size_bytes / 1e6, 1) if self.size_bytes else None,
                "docs_per_second": round(self.docs_per_second, 1) if self.docs_per_second else None,
                "query_ms": round(self.query_ms, 2) if self.query_ms is not None else None,
                "embeddings_cached": self.cached, "error": self.error or None}


@dataclass
class Comparison:
    rows: list[ComparisonRow]
    documents: int
    chunks: int
    queries: int
    query_source: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.error]

    def best(self) -> ComparisonRow | None:
        scored = [row for row in self.rows if row.scores]
        return max(scored, key=lambda r: (r.scores.ndcg_at_10, r.scores.recall_at_5),  # type: ignore[union-attr]
                   default=None)

    def as_dict(self) -> dict[str, Any]:
        best = self.best()
        return {"corpus": {"documents": self.documents, "chunks": self.chunks},
                "queries": self.queries, "query_source": self.query_source,
                "warnings": self.warnings, "results": [row.as_dict() for row in self.rows],
                "best": {"name": best.name, "mode": best.mode} if best else None}


def compare(corpus: CorpusLike, queries: QuerySet, models: Sequence[ModelCandidate | TextEmbedder],
            *, modes: Sequence[EvalMode] = ("dense", "hybrid"), bm25: bool = True,
            cache: EmbeddingCache | None = None,
            progress: Callable[[str], None] | None = None) -> Comparison:
    """Every model in every mode, plus BM25, on the same corpus and questions.

    A model that cannot be loaded or fails while embedding gets rows with its error;
    the others are still measured. Query latency is the median over the questions,
    embedded one at a time as the bot does; documents per second is measured when
    the corpus is embedded (on an earlier run, when the embeddings come from cache).
    """
    corpus = as_corpus(corpus)
    cache = cache or EmbeddingCache(None)
    say = progress or (lambda _: None)
    relevant = [set(q.relevant) for q in queries]
    started = time.perf_counter()
    lexical = Bm25Ranker(corpus)
    bm25_docs_per_second = len(corpus) / max(time.perf_counter() - started, 1e-9)
    lexical_cache: dict[str, tuple[list[str], float]] = {}

    def lexical_ranking(text: str) -> tuple[list[str], float]:
        if text not in lexical_cache:
            began = time.perf_counter()
            lexical_cache[text] = (lexical.rank(text, max(K, HYBRID_DEPTH)),
                                   time.perf_counter() - began)
        return lexical_cache[text]

    rows: list[ComparisonRow] = []
    for model in models:
        candidate = model if isinstance(model, ModelCandidate) else ModelCandidate(
            model.model_id, lambda m=model: m)
        say(f"{candidate.name}: embedding {len(corpus.chunks)} chunks")
        rows.extend(_measure_model(candidate, corpus, queries, relevant, modes, cache,
                                   lexical_ranking, say))
    if bm25:
        rankings, times = [], []
        for text in queries.texts:
            ranking, seconds = lexical_ranking(text)
            rankings.append(ranking[:K])
            times.append(seconds)
        rows.append(ComparisonRow("bm25", "bm25", score_rankings(zip(rankings, relevant, strict=True)),
                                  docs_per_second=bm25_docs_per_second, query_ms=_median_ms(times)))
    return Comparison(rows, len(corpus), len(corpus.chunks), len(queries), queries.source,
                      list(queries.warnings))


def _measure_model(candidate: ModelCandidate, corpus: EvalCorpus, queries: QuerySet,
                   relevant: list[set[str]], modes: Sequence[EvalMode], cache: EmbeddingCache,
                   lexical_ranking: Callable[[str], tuple[list[str], float]],
                   say: Callable[[str], None]) -> list[ComparisonRow]:
    progress: Progress = lambda done, total: say(f"{candidate.name}: {done}/{total} chunks")  # noqa: E731
    try:
        embedder = candidate.load()
        found = cache.corpus_vectors(embedder, corpus, progress)
        dense = DenseRanker(embedder, corpus, found.vectors)
        embedder.embed_query("warm up")  # the first call pays for lazy set-up, not a question
        dense_rankings, dense_times = [], []
        for text in queries.texts:
            began = time.perf_counter()
            dense_rankings.append(dense.rank(text, max(K, HYBRID_DEPTH)))
            dense_times.append(time.perf_counter() - began)
    except Exception as exc:  # noqa: BLE001 - one bad model must not stop the table
        reason = str(exc) if isinstance(exc, ArgotError) else f"{type(exc).__name__}: {exc}"
        say(f"{candidate.name}: failed: {reason}")
        return [ComparisonRow(candidate.name, mode, error=reason) for mode in modes]
    common = {"model_id": embedder.model_id, "dimension": int(found.vectors.shape[1]),
              "size_bytes": model_size_bytes(embedder), "cached": found.cached,
              "docs_per_second": len(corpus) / max(found.seconds, 1e-9)}
    rows = []
    for mode in modes:
        if mode == "dense":
            rankings, times = [r[:K] for r in dense_rankings], dense_times
        elif mode == "hybrid":
            lexical = [lexical_ranking(text) for text in queries.texts]
            rankings = [fuse([d, lex], K) for d, (lex, _) in zip(dense_rankings, lexical, strict=True)]
            times = [d + seconds for d, (_, seconds) in zip(dense_times, lexical, strict=True)]
        else:
            continue
        rows.append(ComparisonRow(candidate.name, mode, score_rankings(zip(rankings, relevant,
                                                                           strict=True)),
                                  query_ms=_median_ms(times), **common))
    return rows


def _median_ms(seconds: Sequence[float]) -> float | None:
    return statistics.median(seconds) * 1000 if seconds else None


def model_size_bytes(embedder: TextEmbedder) -> int | None:
    """Bytes of a local or hub-cached model's files; None for a remote endpoint."""
    name = getattr(embedder, "name_or_path", None)
    if not name:
        return None
    folder = Path(name)
    if not folder.is_dir():
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(name, local_files_only=True))
        except Exception:  # noqa: BLE001 - not in the local hub cache: size unknown
            return None
    skip = {"onnx", "openvino"}  # alternative exports the model does not load
    return sum(f.stat().st_size for f in folder.rglob("*")
               if f.is_file() and not skip & set(f.relative_to(folder).parts))
