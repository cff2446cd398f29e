"""Judging a candidate model against the active one, before anyone sees its answers.

Both models are measured the same way: exact cosine search over every chunk of the
corpus, each document scored by its best chunk (`engine.evaluation.measure`, through the search
that answers), on the held-out
rated questions the candidate never trained on, and on the gold question file when
one is configured. The candidate is promoted only if it beats the active model on the
held-out slice by `margin` (nDCG@10) and does not fall back on the gold file.

The blending weight (`engine.learning.training.blend`) is chosen here too, on a pool: the
documents the active model ranks in its top `pool_depth` for the held-out questions,
plus their relevant ones (for at most 40 questions). Re-embedding only that pool for
each weight costs a fraction of the corpus; the chosen model is then measured on the
whole corpus.

A mean gain is not enough: the candidate and the active model are compared question
by question on the same held-out slice, and a paired bootstrap (rewordings of one
question drawn together) gives a lower confidence bound of the gain
(`paired_bootstrap`); a gain that could be noise is rejected, and a slice smaller than
`min_questions` is not judged at all.

Tip:
    20 held-out questions (about 100 rated ones) are the least the gate judges on; with
    fewer, configure a gold file (`ARGOT_GOLD_QUERIES`) so that the gate has more to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.corpus import EvalCorpus, ExactVectors
from engine.evaluation.measure import question_rankings
from engine.evaluation.metrics import RankingScores, score_rankings
from engine.evaluation.querysets import QuerySet
from engine.evaluation.vectors import embed_texts
from engine.learning.mining import ActiveCorpus

K = 10


CONFIDENCE = 0.95


@dataclass(frozen=True)
class Evidence:
    """A paired per-question comparison of two rankers on the same questions (nDCG@10)."""

    gain: float
    """Mean per-question gain of the candidate."""
    low: float
    """Lower confidence bound of the gain (paired bootstrap)."""
    high: float
    questions: int
    better: int
    """Questions the candidate ranks better."""
    worse: int
    groups: int = 0
    """Independent draws: questions, rewordings of one counted once."""
    confidence: float = CONFIDENCE
    """The confidence of `low` and `high`."""

    def as_dict(self) -> dict[str, float | int]:
        return {"gain": self.gain, "low": self.low, "high": self.high,
                "questions": self.questions, "groups": self.groups, "better": self.better,
                "worse": self.worse, "confidence": self.confidence}


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
    rankings = question_rankings(corpus, queries, embedder, "dense", vectors=vectors)
    return score_rankings(zip(rankings, [set(q.relevant) for q in queries], strict=True))


def pool_of(active: ActiveCorpus, active_embedder: TextEmbedder, texts: Sequence[str],
            relevant: set[str], depth: int) -> EvalCorpus:
    """The chunks of the documents the active model ranks in its top `depth` for `texts`,
    and of the `relevant` ones: what another model needs to embed to rank those questions
    (a document beyond the active model's top `depth` seldom reaches another's top 10)."""
    top = ExactVectors(active.corpus, active.vectors).rank_vectors(
        active_embedder.embed_batch(list(texts), "query"), depth) if texts else []
    pool_ids = {doc for ranking in top for doc in ranking} | relevant
    return EvalCorpus.from_chunks(c for c in active.corpus.chunks if c.doc_id in pool_ids)


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
    pool = pool_of(active, active_embedder, queries.texts, queries.relevant_ids, pool_depth)
    scores: dict[float, float] = {}
    for alpha in alphas:
        embedder = make_model(alpha)
        vectors = embed_texts(embedder, pool.texts)
        scores[alpha] = dense_scores(embedder, pool, vectors, queries).ndcg_at_10
    best = max(scores.items(), key=lambda item: (round(item[1], 6), -item[0]))
    return best[0], scores


def paired_bootstrap(active: Sequence[float], candidate: Sequence[float], *,
                     clusters: Sequence[str] | None = None, weights: Sequence[float] | None = None,
                     confidence: float = CONFIDENCE, samples: int = 2000, seed: int = 15) -> Evidence:
    """How sure we are that `candidate` beats `active` on these questions.

    Both lists hold one score per question, in the same order (a paired comparison:
    the same questions, so each question's own difficulty cancels out). The questions
    are resampled with replacement `samples` times; `low` is the one-sided lower
    confidence bound of the mean gain at `confidence` (the 5th percentile of the
    resampled means at 0.95). A `low` above zero says the gain is unlikely to be noise.

    With `clusters` (one key per question), questions that share a key are resampled
    together: one question asked in four wordings is one draw, not four that rise and
    fall as one, which would make the bound look four times as sure as it is.

    With `weights` (one per question: how many asked questions it counts for,
    `engine.learning.trainingdata.Ratings.judging_weights`), the gain is a weighted mean.

    Example:
        >>> paired_bootstrap([0.5, 0.2, 1.0], [1.0, 0.5, 1.0]).gain
        0.2667
    """
    if len(active) != len(candidate):
        raise ValueError("paired scores need the same questions on both sides")
    diffs = np.asarray(candidate, dtype=np.float64) - np.asarray(active, dtype=np.float64)
    if not len(diffs):
        return Evidence(0.0, 0.0, 0.0, 0, 0, 0, confidence=confidence)
    if clusters is not None and len(clusters) != len(diffs):
        raise ValueError("one cluster key per question")
    counts = np.ones(len(diffs)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(counts) != len(diffs):
        raise ValueError("one weight per question")
    keys = list(clusters) if clusters is not None else list(range(len(diffs)))
    index = {key: n for n, key in enumerate(dict.fromkeys(keys))}
    members = np.asarray([index[key] for key in keys])
    sums = np.bincount(members, weights=diffs * counts, minlength=len(index))
    sizes = np.bincount(members, weights=counts, minlength=len(index))
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(index), size=(samples, len(index)))
    means = sums[drawn].sum(axis=1) / sizes[drawn].sum(axis=1)
    low, high = np.quantile(means, [1.0 - confidence, confidence])
    return Evidence(round(float(np.average(diffs, weights=counts)), 4), round(float(low), 4),
                    round(float(high), 4),
                    len(diffs), int((diffs > 1e-9).sum()), int((diffs < -1e-9).sum()),
                    len(index), confidence)


def judge(active: RankingScores | None, candidate: RankingScores | None, *, margin: float,
          gold_active: RankingScores | None = None, gold_candidate: RankingScores | None = None,
          gold_tolerance: float = 0.0, evidence: Evidence | None = None,
          min_questions: int = 0, made_of: str = "") -> Verdict:
    """Promote only a candidate that is better where it was measured and no worse on gold.

    The ordered checks:
    1. `active`/`candidate` are the held-out scores; None when the held-out slice was too
       small, in which case the gold file is the one that has to improve by `margin`.
    2. Fewer than `min_questions` held-out questions (and no gold file): not enough
       held-out questions yet; a gain on a handful of questions is mostly luck.
    3. The mean nDCG@10 gain must reach `margin`.
    4. With `evidence` (the paired per-question comparison), its lower confidence bound
       must be above zero (above `margin` when that is negative): a gain that resampling
       the questions can erase is noise.
    5. The gold file, if any, must not fall back by more than `gold_tolerance`.

    `made_of` says what the held-out questions are ("46 held out, 239 cross-checked").
    """
    main = "held-out"
    if active is None or candidate is None:
        if gold_active is None or gold_candidate is None:
            return Verdict("rejected", "nothing to measure the candidate on")
        active, candidate, main = gold_active, gold_candidate, "gold"
        gold_active = gold_candidate = None
        evidence = None
    elif candidate.queries < min_questions and gold_active is None:
        return Verdict("rejected", f"not enough held-out questions yet: {candidate.queries}, "
                                   f"{min_questions} are needed to judge a candidate (about one "
                                   "rated question in five is held out); keep rating")
    gain = candidate.ndcg_at_10 - active.ndcg_at_10
    made = f" ({made_of})" if made_of and main == "held-out" else ""
    summary = (f"{main} nDCG@10 {active.ndcg_at_10:.3f} → {candidate.ndcg_at_10:.3f} "
               f"({gain:+.3f}) on {candidate.queries} questions{made}")
    if gain < margin:
        return Verdict("rejected", f"{summary}: not better than the active model by the required "
                                   f"{margin:+.3f}")
    if evidence is not None:
        summary += (f" ({evidence.better} better, {evidence.worse} worse; gain at least "
                    f"{evidence.low:+.3f} at {evidence.confidence * 100:g}% confidence)")
        if evidence.low <= min(margin, 0.0):  # a negative margin (tests) accepts a loss
            return Verdict("rejected", f"{summary}: the gain could be noise; more held-out "
                                       "questions would tell")
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
