"""Ranking metrics for retrieval, with binary relevance, as in MTEB and BEIR.

Pure functions over (ranked doc ids, relevant doc ids): every evaluator in Argot
(`argot eval`, the learning cycle's gate, the benchmarks) scores with these.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CUTOFFS = (1, 5, 10)


def ndcg_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    gains = sum(1.0 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1)
                if doc in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return gains / ideal if ideal else 0.0


def mrr_at(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


@dataclass(frozen=True)
class RankingScores:
    """Mean metrics over a query set."""

    ndcg_at_10: float
    mrr_at_10: float
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    queries: int

    def as_dict(self) -> dict[str, float]:
        return {"ndcg@10": round(self.ndcg_at_10, 4), "mrr@10": round(self.mrr_at_10, 4),
                "recall@1": round(self.recall_at_1, 4), "recall@5": round(self.recall_at_5, 4),
                "recall@10": round(self.recall_at_10, 4), "queries": self.queries}


def score_rankings(results: Iterable[tuple[Sequence[str], set[str]]],
                   weights: Sequence[float] | None = None) -> RankingScores:
    """Mean nDCG@10, MRR@10 and Recall@1/5/10 over (ranking, relevant) pairs; with
    `weights` (one per pair), weighted means."""
    rows = [(list(ranked), relevant) for ranked, relevant in results]
    n = len(rows)
    if n == 0:
        return RankingScores(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    counts = list(weights) if weights is not None else [1.0] * n
    if len(counts) != n:
        raise ValueError("one weight per ranking")
    total = sum(counts)

    def mean(values: Iterable[float]) -> float:
        return sum(w * v for w, v in zip(counts, values, strict=True)) / total

    return RankingScores(
        ndcg_at_10=mean(ndcg_at(r, rel) for r, rel in rows),
        mrr_at_10=mean(mrr_at(r, rel) for r, rel in rows),
        recall_at_1=mean(recall_at(r, rel, 1) for r, rel in rows),
        recall_at_5=mean(recall_at(r, rel, 5) for r, rel in rows),
        recall_at_10=mean(recall_at(r, rel, 10) for r, rel in rows),
        queries=n,
    )
