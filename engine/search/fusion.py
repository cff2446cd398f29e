"""Fusing ranked lists: weighted reciprocal-rank fusion, and the retrieval modes.

RRF needs no score calibration between a cosine, a BM25 score or anything else that
ranks documents: a document scores Σ weight / (RRF_K + rank) over the lists it is in.
With every weight 1.0 this is plain RRF, the default hybrid of dense and BM25.

Example:
    >>> fuse([(dense, 1.0), (bm25, 1.0)], k=5)        # the default hybrid
    >>> fuse([(dense, 1.0), (bm25, 0.7), (memory, 0.5)], k=5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from engine.search.ranking import RankedChunk

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
RRF_K = 60
FUSION_DEPTH = 20
"""Documents taken from each ranked list before fusing (or more, when more are wanted)."""

WeightedRanking = tuple[Sequence[RankedChunk], float]


def check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"Unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def rrf_scores(rankings: Sequence[tuple[Sequence[str], float]]) -> dict[str, float]:
    """Weighted reciprocal-rank fusion of doc-id rankings: Σ weight / (RRF_K + rank)."""
    scores: dict[str, float] = {}
    for ranking, weight in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight * (1.0 / (RRF_K + rank))
    return scores


def fuse(rankings: Sequence[WeightedRanking], k: int) -> list[RankedChunk]:
    """The k best documents of several weighted ranked lists, fused by RRF.

    The score is scaled so that first in every list is 1.0; a document is represented
    by its chunk from the first list that has it (list the dense one first: it read the
    meaning). Equal scores keep the order in which the lists first name the documents.
    """
    scores = rrf_scores([([item.chunk.doc_id for item in ranking], weight)
                         for ranking, weight in rankings])
    representative: dict[str, RankedChunk] = {}
    for ranking, _ in rankings:
        for item in ranking:
            representative.setdefault(item.chunk.doc_id, item)
    best = sum(weight for _, weight in rankings) / (RRF_K + 1)
    ordered = sorted(scores, key=lambda doc_id: -scores[doc_id])[:k]
    return [RankedChunk(representative[doc_id].chunk, scores[doc_id] / best) for doc_id in ordered]
