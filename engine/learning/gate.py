"""Judging a candidate model against the active one, before anyone sees its answers.

Both models are measured the same way: exact cosine search over every chunk of the
corpus, each document scored by its best chunk (`engine.search.rankers`), on the held-out
rated questions the candidate never trained on, and on the gold question file when
one is configured. The candidate is promoted only if it beats the active model on the
held-out slice by `margin` (nDCG@10) and does not fall back on the gold file.

The blending weight (`engine.learning.training.blend`) is chosen here too, on a pool: the
documents the active model ranks in its top `pool_depth` for the held-out questions,
plus their relevant ones (for at most 40 questions). Re-embedding only that pool for
each weight costs a fraction of the corpus; the chosen model is then measured on the
whole corpus.

Tip:
    A margin of 0.01 nDCG@10 keeps noise out with 30+ held-out questions; with fewer,
    configure a gold file (`ARGOT_GOLD_QUERIES`) so that the gate has more to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.metrics import RankingScores, score_rankings
from engine.evaluation.querysets import QuerySet
from engine.learning.mining import ActiveCorpus
from engine.search.rankers import DenseRanker, EvalCorpus, embed_texts

K = 10


@dataclass(frozen=True)
class Verdict:
    decision: str
    """"promoted" or "rejected"."""
    reason: str


def dense_scores(embedder: TextEmbedder, corpus: EvalCorpus, vectors: np.ndarray,
                 queries: QuerySet) -> RankingScores:
    """Metrics of one model whose chunk vectors are given, on one query set."""
    if not len(queries):
        return score_rankings([])
    ranker = DenseRanker(embedder, corpus, vectors)
    rankings = ranker.rank_vectors(embedder.embed_batch(queries.texts, "query"), K)
    return score_rankings(zip(rankings, [set(q.relevant) for q in queries], strict=True))


def choose_alpha(make_model: Callable[[float], TextEmbedder], alphas: Sequence[float],
                 active: ActiveCorpus, active_embedder: TextEmbedder, queries: QuerySet,
                 pool_depth: int = 20, max_questions: int = 40) -> tuple[float, dict[float, float]]:
    """The blending weight with the best nDCG@10 on the pool; ties go to the weight
    closer to the base (the safer model). At most `max_questions` questions (a stable
    sample) decide, which bounds the pool on a large held-out slice."""
    if len(alphas) == 1 or not len(queries):
        return alphas[0], {}
    if len(queries) > max_questions:
        from engine.learning.trainingdata import stable_fraction

        sample = sorted(queries, key=lambda q: stable_fraction(q.query))[:max_questions]
        queries = QuerySet(sample, source=queries.source)
    ranker = DenseRanker(active_embedder, active.corpus, active.vectors)
    top = ranker.rank_vectors(active_embedder.embed_batch(queries.texts, "query"), pool_depth)
    pool_ids = {doc for ranking in top for doc in ranking} | queries.relevant_ids
    pool = EvalCorpus.from_chunks(c for c in active.corpus.chunks if c.doc_id in pool_ids)
    scores: dict[float, float] = {}
    for alpha in alphas:
        embedder = make_model(alpha)
        vectors = embed_texts(embedder, pool.texts)
        scores[alpha] = dense_scores(embedder, pool, vectors, queries).ndcg_at_10
    best = max(scores.items(), key=lambda item: (round(item[1], 6), -item[0]))
    return best[0], scores


def judge(active: RankingScores | None, candidate: RankingScores | None, *, margin: float,
          gold_active: RankingScores | None = None, gold_candidate: RankingScores | None = None,
          gold_tolerance: float = 0.0) -> Verdict:
    """Promote only a candidate that is better where it was measured and no worse on gold.

    `active`/`candidate` are the held-out scores; None when the held-out slice was too
    small, in which case the gold file is the one that has to improve by `margin`.
    """
    main = "held-out"
    if active is None or candidate is None:
        if gold_active is None or gold_candidate is None:
            return Verdict("rejected", "nothing to measure the candidate on")
        active, candidate, main = gold_active, gold_candidate, "gold"
        gold_active = gold_candidate = None
    gain = candidate.ndcg_at_10 - active.ndcg_at_10
    summary = (f"{main} nDCG@10 {active.ndcg_at_10:.3f} → {candidate.ndcg_at_10:.3f} "
               f"({gain:+.3f}) on {candidate.queries} questions")
    if gain < margin:
        return Verdict("rejected", f"{summary}: not better than the active model by the required "
                                   f"{margin:+.3f}")
    if gold_active is not None and gold_candidate is not None:
        drop = gold_candidate.ndcg_at_10 - gold_active.ndcg_at_10
        if drop < -gold_tolerance:
            return Verdict("rejected", f"{summary}, but it falls back on the gold questions: "
                                       f"nDCG@10 {gold_active.ndcg_at_10:.3f} → "
                                       f"{gold_candidate.ndcg_at_10:.3f}")
        summary += (f"; gold nDCG@10 {gold_active.ndcg_at_10:.3f} → "
                    f"{gold_candidate.ndcg_at_10:.3f}")
    return Verdict("promoted", summary)


def as_report(scores: RankingScores | None) -> dict[str, Any]:
    return scores.as_dict() if scores is not None else {}
