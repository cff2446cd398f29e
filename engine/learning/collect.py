"""The cycle's first two phases: what there is to learn from, and the examples made of it.

`collect` reads the feedback store and the active collection once and hands on a
`Collected`, or raises `Skip` with the reason a cycle has nothing to do yet; `mine_examples`
turns it into training examples with hard negatives (`engine.learning.mining`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.embedders import SentenceTransformerEmbedder
from engine.evaluation.querysets import QuerySet, QuerySetError
from engine.feedback import FeedbackStore
from engine.index import ChunkIndex
from engine.learning.config import LearningConfig
from engine.learning.crossfit import cross_checkable, halves_of, rare_words
from engine.learning.cyclelog import CycleLog
from engine.learning.expansions import LearningCorpus
from engine.learning.mining import ActiveCorpus, Mined, mine
from engine.learning.report import CycleReport
from engine.learning.trainingdata import (
    RatedQuestion,
    Ratings,
    gather_ratings,
    index_pairs,
    stored_pairs,
    training_set,
)
from engine.registry import ModelRegistry, ModelVersion

MIN_SLICE = 5
"""Held-out questions needed besides the cross-checked ones when the model cannot be
cross-fitted (`engine.learning.crossfit`): it is then judged on these alone (it trained on
the others). When it can, every rated question judges it, and one held-out question
will do."""


class Skip(Exception):  # noqa: N818 - a decision, not an error
    """The cycle has nothing to do yet; the message says why."""


@dataclass(frozen=True)
class Collected:
    """What the cycle learns from and judges on, read once at its start."""

    active: ModelVersion
    embedder: SentenceTransformerEmbedder
    """The active model's embedder: candidates keep its prompts."""
    index: ChunkIndex
    """The active collection, which keeps answering during the cycle."""
    corpus: ActiveCorpus
    ratings: Ratings
    training_questions: list[RatedQuestion]
    """Rated training questions, plus FAQ and glossary pairs."""
    held_out: QuerySet | None
    gold: QuerySet | None
    documents: LearningCorpus
    """Every document as the vocabulary learner reads it, read once a cycle (the
    cross-fitting split asks it which words are rare, and every fold learns from it)."""
    seen: frozenset[str] = frozenset()
    """Rated questions (keys) the active version learnt from (`trained_on`): they judge
    nothing, as its model would only be recalling their pages."""
    halves: dict[str, int] = field(default_factory=dict)
    """Rated question key → its cross-fitting half (`engine.learning.crossfit.halves_of`);
    empty when the candidate is trained as one model."""

    @property
    def judging(self) -> QuerySet:
        """The questions a candidate is chosen and judged on: held out, else the gold file."""
        queries = self.held_out or self.gold
        assert queries is not None, "collect() skips a cycle with neither"
        return queries


def check_due(feedback: FeedbackStore, config: LearningConfig) -> tuple[int, str | None]:
    """(new ratings since the last decided cycle, why a cycle is not due or None)."""
    new = feedback.vote_count(since=CycleLog(feedback).last_decided_start())
    if new < config.min_new_ratings:
        return new, (f"{new} new ratings since the last cycle; {config.min_new_ratings} are "
                     "needed (ARGOT_MIN_NEW_RATINGS)")
    return new, None


def collect(feedback: FeedbackStore, registry: ModelRegistry, client: Any,
            embedder_for: Callable[[ModelVersion], Any], config: LearningConfig,
            report: CycleReport, *, force: bool, progress: Callable[[str], None]) -> Collected:
    """The active model, its corpus, the ratings split into training and held-out
    questions, and the gold file; `Skip` when a cycle is not due or cannot judge."""
    report.new_ratings, not_due = check_due(feedback, config)
    if not_due and not force:
        raise Skip(not_due)
    active = registry.active()
    embedder = embedder_for(active)
    if not isinstance(embedder, SentenceTransformerEmbedder):
        raise Skip(f"the model {embedder.model_id} cannot be fine-tuned here; "
                   "ARGOT_MODEL must be a sentence-transformers model")
    index = ChunkIndex(client, embedder.model_id)
    corpus = ActiveCorpus.from_index(index)
    if not len(corpus):
        raise Skip("the index is empty; ingest documents first (`argot ingest PATH`)")
    known = set(corpus.corpus.doc_ids)
    ratings = gather_ratings(feedback)
    train, _ = ratings.split()
    held_out = restricted(QuerySet.from_feedback(feedback, "held_out"), known)
    gold = restricted(QuerySet.load(config.gold_queries), known) if config.gold_queries else None
    # The gate judges on the held-out slice and on every rated training question
    # cross-checked (`engine.learning.levers`) but those the active version learnt from,
    # so both count; the slice itself needs a few.
    seen = trained_on(active)
    documents = LearningCorpus(corpus.corpus.document_texts())
    halves: dict[str, int] = {}
    if config.cross_fit:  # rated questions only: FAQ pairs never count
        halves = halves_of(train, rare_words(train, documents))
    have = len(held_out) if held_out else 0
    crossed = sum(1 for q in train if cross_checkable(q, known, seen))
    learnt = sum(1 for q in train if q.key in seen)
    slice_needed = 1 if halves else MIN_SLICE
    enough = have >= slice_needed and have + crossed >= config.min_held_out
    if not enough and not gold:
        learnt_note = f" (and {learnt} the active version learnt from)" if learnt else ""
        raise Skip(f"not enough held-out questions yet: {have} held out + {crossed} cross-checked"
                   f"{learnt_note}, "
                   f"{config.min_held_out} are needed to judge a candidate (and {slice_needed} held "
                   "out; about one rated question in five is); keep rating, or set "
                   "ARGOT_GOLD_QUERIES")
    if not enough:
        held_out = None
    if not sum(len(q.positives) for q in train):
        raise Skip("no 👍 on training questions yet: nothing to learn from")
    chunks = ((c, corpus.metadata[c.chunk_id]) for c in corpus.corpus.chunks)
    questions = training_set(train, [*stored_pairs(feedback), *index_pairs(chunks)],
                             other_share=config.aux_share, other_min=config.aux_min)
    report.ratings = {"votes": ratings.votes, "voters": ratings.voters,
                      "questions": len(ratings.questions), "training_questions": len(train),
                      "held_out_questions": len(held_out) if held_out else 0,
                      "gold_questions": len(gold) if gold else 0,
                      "conflicts": ratings.conflicts, "capped_voters": len(ratings.capped_voters),
                      "thinned": ratings.thinned}
    progress(f"  {len(train)} rated questions to learn from, "
             f"{report.ratings['held_out_questions']} held out to judge on; "
             f"{len(questions)} questions with FAQ and glossary pairs")
    return Collected(active, embedder, index, corpus, ratings, questions, held_out, gold, documents,
                     seen, halves)


TRAINED_ON = "trained_on.json"
"""In a version's folder: the rated questions (normalised) it learnt from."""


def trained_on(version: ModelVersion) -> frozenset[str]:
    """The rated questions a version learnt from (its model, vocabulary and memory, and
    those of the versions it kept from). Empty for the base model, and for a version
    made before Argot recorded them."""
    if version.path is None:
        return frozenset()
    try:
        keys = json.loads((Path(version.path) / TRAINED_ON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(str(key) for key in keys) if isinstance(keys, list) else frozenset()


def record_trained_on(folder: Path, collected: Collected) -> None:
    """Write what a new version learnt from: this cycle's rated training questions and
    what the active version had learnt from (a version may keep its weights)."""
    keys = {q.key for q in collected.training_questions if q.source == "rating"} | collected.seen
    (folder / TRAINED_ON).write_text(json.dumps(sorted(keys), ensure_ascii=False), encoding="utf-8")


def mine_examples(collected: Collected, config: LearningConfig, report: CycleReport,
                  progress: Callable[[str], None]) -> Mined:
    """Training examples with hard negatives mined against the active model."""
    mined = mine(collected.training_questions, collected.corpus, collected.embedder,
                 range_min=config.range_min, range_max=config.range_max,
                 relative_margin=config.relative_margin,
                 num_negatives=config.training.num_negatives)
    report.pairs = len(mined.examples)
    report.hard_negatives = mined.hard_negatives
    report.negatives = {**dict(mined.negatives_by_kind),
                        "dropped_near_positive": mined.dropped_near_positive}
    report.pairs_by_source = mined.pairs_by_source()
    if not mined.examples:
        raise Skip("none of the rated documents is in the index any more")
    progress(f"  {report.pairs} pairs, {report.hard_negatives} hard negatives")
    return mined


def restricted(queries: QuerySet, known: set[str]) -> QuerySet | None:
    """Only questions whose relevant documents are still in the index; None when none are."""
    if not len(queries):
        return None
    try:
        return queries.restricted_to(known)
    except QuerySetError:
        return None
