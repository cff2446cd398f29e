"""The whole table of `argot eval`: every model in every mode, plus BM25.

Each row is measured through the stack that answers (`engine.search.retrieval.Searcher`
over the corpus in memory, see `engine.evaluation.measure`), one question at a time
as the bot asks, so the query time is what an answer would cost on this machine.

Example:
    >>> table = compare(corpus, queries, [ModelCandidate("MiniLM", load_minilm)])
    >>> table.best().mode
    'hybrid'
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.embedders import TextEmbedder
from engine.errors import ArgotError
from engine.evaluation.corpus import EvalCorpus, as_corpus
from engine.evaluation.measure import CorpusLike, K, corpus_searcher
from engine.evaluation.metrics import RankingScores, score_rankings
from engine.evaluation.querysets import QuerySet
from engine.evaluation.vectors import EmbeddingCache, Progress, QueryVectors
from engine.search.fusion import Mode
from engine.search.lexical import Bm25
from engine.search.retrieval import Searcher, clean_query

log = logging.getLogger(__name__)


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
            *, modes: Sequence[Mode] = ("dense", "hybrid"), bm25: bool = True,
            cache: EmbeddingCache | None = None,
            progress: Callable[[str], None] | None = None) -> Comparison:
    """Every model in every mode, plus BM25, on the same corpus and questions.

    A model that cannot be loaded or fails while embedding gets rows with its error;
    the others are still measured. Query latency is the median over the questions,
    embedded one at a time as the bot does (a hybrid row adds the embedding to its own
    search); documents per second is measured when the corpus is embedded (on an
    earlier run, when the embeddings come from cache).
    """
    corpus = as_corpus(corpus)
    cache = cache or EmbeddingCache(None)
    say = progress or (lambda _: None)
    relevant = [set(q.relevant) for q in queries]
    started = time.perf_counter()
    lexical = Bm25.over(corpus.chunks)
    bm25_docs_per_second = len(corpus) / max(time.perf_counter() - started, 1e-9)
    rows: list[ComparisonRow] = []
    for model in models:
        candidate = model if isinstance(model, ModelCandidate) else ModelCandidate(
            model.model_id, lambda m=model: m)
        say(f"{candidate.name}: embedding {len(corpus.chunks)} chunks")
        rows.extend(_measure_model(candidate, corpus, queries, relevant, modes, cache, lexical, say))
    if bm25:
        rankings, times = _timed(corpus_searcher(corpus, lexical=lexical), queries, "bm25")
        rows.append(ComparisonRow("bm25", "bm25", score_rankings(zip(rankings, relevant, strict=True)),
                                  docs_per_second=bm25_docs_per_second, query_ms=_median_ms(times)))
    return Comparison(rows, len(corpus), len(corpus.chunks), len(queries), queries.source,
                      list(queries.warnings))


def _timed(searcher: Searcher, queries: QuerySet, mode: Mode) -> tuple[list[list[str]], list[float]]:
    """Each question's top-10 doc ids, and the seconds each search took."""
    rankings, times = [], []
    for text in queries.texts:
        began = time.perf_counter()
        rankings.append([hit.doc_id for hit in searcher.search(text, K, mode=mode)])
        times.append(time.perf_counter() - began)
    return rankings, times


def _measure_model(candidate: ModelCandidate, corpus: EvalCorpus, queries: QuerySet,
                   relevant: list[set[str]], modes: Sequence[Mode], cache: EmbeddingCache,
                   lexical: Bm25, say: Callable[[str], None]) -> list[ComparisonRow]:
    progress: Progress = lambda done, total: say(f"{candidate.name}: {done}/{total} chunks")  # noqa: E731
    measured: dict[str, tuple[list[list[str]], list[float]]] = {}
    try:
        embedder = candidate.load()
        found = cache.corpus_vectors(embedder, corpus, progress)
        embedder.embed_query("warm up")  # the first call pays for lazy set-up, not a question
        questions = QueryVectors(embedder)  # embeds each question once, on its first search
        searcher = corpus_searcher(corpus, questions, found.vectors, lexical=lexical)
        for mode in ("dense", *[m for m in modes if m != "dense"]):
            if mode == "bm25":
                continue
            rankings, times = _timed(searcher, queries, mode)
            if mode != "dense":  # dense ran first and embedded the questions
                times = [t + questions.seconds.get(text, 0.0)
                         for t, text in zip(times, _cleaned(queries), strict=True)]
            measured[mode] = rankings, times
    except Exception as exc:  # noqa: BLE001 - one bad model must not stop the table
        reason = str(exc) if isinstance(exc, ArgotError) else f"{type(exc).__name__}: {exc}"
        say(f"{candidate.name}: failed: {reason}")
        return [ComparisonRow(candidate.name, mode, error=reason) for mode in modes]
    common = {"model_id": embedder.model_id, "dimension": int(found.vectors.shape[1]),
              "size_bytes": model_size_bytes(embedder), "cached": found.cached,
              "docs_per_second": len(corpus) / max(found.seconds, 1e-9)}
    return [ComparisonRow(candidate.name, mode,
                          score_rankings(zip(measured[mode][0], relevant, strict=True)),
                          query_ms=_median_ms(measured[mode][1]), **common)
            for mode in modes if mode in measured]


def _cleaned(queries: QuerySet) -> list[str]:
    return [clean_query(text) for text in queries.texts]


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
