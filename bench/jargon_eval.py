"""Scoring for the jargon benchmark: the searches, the anchor recipes, the metrics.

Every ranking comes from the engine's one search stack (`engine.search.retrieval`):
- what the bot serves is measured through `Services.retriever(version)`, the very
  `Retriever` that answers in Slack (its Chroma collection, and whatever a learning
  cycle taught it), in each mode;
- an anchor, which no bot serves, through `engine.evaluation.measure.corpus_searcher`:
  the same `Searcher` over the served corpus held in memory with the anchor's vectors.

The anchors are the recipes Argot must beat, trained on the same ratings as Argot's
first round (the same rated questions, FAQ and glossary pairs, mined the same way):
- the classic recipe: TripletLoss, 1 epoch, batch 16, lr 2e-5, 10 % warm-up (the seed's);
- MNRL for 3 epochs with one mined negative per pair.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("hybrid", "dense")
DEPTH = 10


class Searches:
    """Top-10 doc ids for questions, through a `Searcher` (a `Retriever` or an in-memory one)."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher

    def rankings(self, texts: Sequence[str], mode: str) -> list[list[str]]:
        return [[hit.doc_id for hit in self.searcher.search(text, DEPTH, mode=mode)] for text in texts]


def served(services: Any) -> tuple[str, Searches]:
    """(version name, the searches of the retriever that answers now)."""
    version = services.registry.active()
    return version.name, Searches(services.retriever(version))


def in_memory(corpus: Any, embedder: Any, vectors: np.ndarray) -> Searches:
    from engine.evaluation.measure import corpus_searcher

    return Searches(corpus_searcher(corpus, embedder, vectors))


def scores(rankings: list[list[str]], relevant: Sequence[Sequence[str]]) -> dict[str, float]:
    from engine.evaluation.metrics import score_rankings

    found = score_rankings(zip(rankings, [set(r) for r in relevant], strict=True))
    return {"mrr@10": round(found.mrr_at_10, 4), "ndcg@10": round(found.ndcg_at_10, 4),
            "recall@1": round(found.recall_at_1, 4), "queries": found.queries}


def reciprocal_ranks(rankings: list[list[str]], relevant: Sequence[Sequence[str]]) -> list[float]:
    return [next((1 / r for r, d in enumerate(ranking[:DEPTH], 1) if d in rel), 0.0)
            for ranking, rel in zip(rankings, relevant, strict=True)]


@dataclass
class Row:
    """One model's figures: {mode: {set: scores}} and its reciprocal ranks per question."""

    name: str
    metrics: dict[str, dict[str, dict[str, float]]]
    ranks: dict[str, dict[str, list[float]]]


def measure(name: str, searcher: Searches, sets: dict[str, tuple[list[str], list[list[str]]]],
            modes: Sequence[str] = MODES) -> Row:
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    ranks: dict[str, dict[str, list[float]]] = {}
    for mode in modes:
        for set_name, (texts, relevant) in sets.items():
            found = searcher.rankings(texts, mode)
            metrics.setdefault(mode, {})[set_name] = scores(found, relevant)
            ranks.setdefault(mode, {})[set_name] = [round(x, 4) for x in reciprocal_ranks(found, relevant)]
    return Row(name, metrics, ranks)


def rated_examples(services: Any, num_negatives: int) -> list[Any]:
    """What the cycle would train on now: the rated training questions with the FAQ and
    glossary pairs, mined against the active model (the cycle's own functions)."""
    from engine.learning.config import LearningConfig
    from engine.learning.mining import ActiveCorpus, mine
    from engine.learning.trainingdata import gather_ratings, index_pairs, stored_pairs, training_set

    config = LearningConfig()
    embedder = services.embedder()
    corpus = ActiveCorpus.from_index(services.index())
    train, _ = gather_ratings(services.feedback).split()
    chunks = ((c, corpus.metadata[c.chunk_id]) for c in corpus.corpus.chunks)
    questions = training_set(train, [*stored_pairs(services.feedback), *index_pairs(chunks)],
                             other_share=config.aux_share, other_min=config.aux_min)
    return mine(questions, corpus, embedder, range_min=config.range_min, range_max=config.range_max,
                relative_margin=config.relative_margin, num_negatives=num_negatives).examples


ANCHORS = {
    "classic recipe (TripletLoss)": dict(loss="triplet", epochs=1, batch_size=16, learning_rate=2e-5,
                                         warmup_ratio=0.1, num_negatives=3),
    "MNRL 3 epochs + 1 mined negative": dict(loss="mnrl", epochs=3, batch_size=16, learning_rate=3e-5,
                                             warmup_ratio=0.1, num_negatives=1),
}


def anchor_config(kind: Any, recipe: dict[str, Any]) -> Any:
    """The recipe exactly as written: no sizing to the data, no time budget (Argot's own
    training may add both; an anchor is the fixed recipe it must beat)."""
    from dataclasses import fields

    fixed = {"min_steps": 0, "max_epochs": recipe["epochs"], "max_seconds": 0.0, **recipe}
    known = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in fixed.items() if k in known})


def train_anchor(name: str, services: Any, work: Path) -> tuple[Searches, dict[str, Any]]:
    """(its searches over the served corpus, what training did) for one anchor."""
    from engine.evaluation.corpus import EvalCorpus
    from engine.evaluation.vectors import embed_texts
    from engine.learning.training import TrainingConfig, fine_tune, in_memory_embedder

    recipe = ANCHORS[name]
    started = time.perf_counter()
    examples = rated_examples(services, int(recipe["num_negatives"]))
    config = anchor_config(TrainingConfig, recipe)
    trained = fine_tune(services.workbench().base_model, examples, config, work_dir=work)
    embedder = in_memory_embedder(trained.model, f"anchor-{recipe['loss']}")
    corpus = EvalCorpus.from_index(services.index())
    searches = in_memory(corpus, embedder, embed_texts(embedder, corpus.texts))
    return searches, {"pairs": len(examples), "steps": trained.steps, "rows": trained.rows,
                      "epochs": recipe["epochs"], "loss_function": recipe["loss"],
                      "seconds": round(time.perf_counter() - started, 1),
                      "training_seconds": round(trained.seconds, 1)}
