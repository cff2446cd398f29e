"""One learning cycle: collect → mine → train → evaluate → gate → re-embed → switch → report.

The cycle turns the ratings in the feedback store into a candidate model, measures it
against the active one on held-out questions, and switches only to a better one
(`engine.learning.gate`). It never leaves a half-made version active: the candidate's folder and
collection stay pending until one atomic registry write (`engine.learning.promotion`), and the
next cycle removes whatever a killed one left behind.

The caller provides the lease (one cycle at a time: `jobs.learning`) and, for the
scheduled job, the separate process with its own thread budget.

Tip:
    Set `ARGOT_MIN_NEW_RATINGS` to about a day's ratings so the nightly job trains on
    something new; `argot train --force` runs a cycle regardless.

Example:
    >>> report = LearningCycle(workbench, LearningConfig()).run()
    >>> report.decision, report.reason
    ('promoted', 'held-out nDCG@10 0.612 → 0.689 (+0.077) on 31 questions')
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.embedders import SentenceTransformerEmbedder, TextEmbedder
from engine.errors import ArgotError
from engine.evaluation.querysets import QuerySet, QuerySetError
from engine.feedback import FeedbackStore
from engine.index import ChunkIndex
from engine.learning.cyclelog import CycleLog
from engine.learning.gate import Verdict, as_report, choose_alpha, dense_scores, judge
from engine.learning.mining import ActiveCorpus, Mined, mine
from engine.learning.training import TrainingConfig
from engine.learning.trainingdata import (
    RatedQuestion,
    Ratings,
    gather_ratings,
    index_pairs,
    stored_pairs,
    training_set,
)
from engine.registry import ModelRegistry, ModelVersion

log = logging.getLogger(__name__)

PHASES = ("collect", "mining", "training", "evaluation", "gate", "reembed", "switch", "report")
CRASH_ENV = "ARGOT_CRASH_AT"


def crash_point(phase: str) -> None:
    """Fault injection for the reliability tests: `ARGOT_CRASH_AT=training` makes the
    process SIGKILL itself there, as the OOM killer or a power cut would."""
    if os.environ.get(CRASH_ENV) == phase:
        os.kill(os.getpid(), signal.SIGKILL)


def quiet(_: str) -> None:
    """The default progress sink: say nothing."""


class LearningError(ArgotError):
    """The cycle failed; the active model is unchanged and pending files are removed."""


class Skip(Exception):  # noqa: N818 - a decision, not an error
    pass


@dataclass(frozen=True)
class LearningConfig:
    """Everything a cycle can be told (environment names in `from_env`)."""

    min_new_ratings: int = 10
    min_held_out: int = 5
    gate_margin: float = 0.01
    gold_queries: Path | None = None
    gold_tolerance: float = 0.0
    alphas: tuple[float, ...] = (1.0, 0.75, 0.5)
    pool_depth: int = 20
    aux_share: float = 1.0
    """FAQ and glossary examples: at most this many per rated example (min `aux_min`)."""
    aux_min: int = 32
    range_min: int = 0
    range_max: int = 30
    relative_margin: float = 0.05
    training: TrainingConfig = field(default_factory=TrainingConfig)
    picture: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> LearningConfig:
        def number(name: str, default: float, kind: type = float) -> Any:
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ArgotError(f"{name}={raw!r} is not a {kind.__name__}") from None

        loss = (env.get("ARGOT_TRAIN_LOSS") or "mnrl").strip().lower()
        if loss not in ("mnrl", "triplet"):
            raise ArgotError(f"ARGOT_TRAIN_LOSS={loss!r} is not mnrl or triplet")
        alphas_raw = (env.get("ARGOT_COCKTAIL_ALPHAS") or "").strip()
        try:
            alphas = tuple(float(a) for a in alphas_raw.split(",")) if alphas_raw else cls.alphas
        except ValueError:
            raise ArgotError(f"ARGOT_COCKTAIL_ALPHAS={alphas_raw!r} is not a list like 1,0.75,0.5") \
                from None
        base = TrainingConfig()
        training = TrainingConfig(
            loss=loss, epochs=number("ARGOT_TRAIN_EPOCHS", base.epochs),  # type: ignore[arg-type]
            batch_size=number("ARGOT_TRAIN_BATCH_SIZE", base.batch_size, int),
            learning_rate=number("ARGOT_TRAIN_LR", base.learning_rate),
            max_seq_length=number("ARGOT_TRAIN_MAX_SEQ_LENGTH", base.max_seq_length, int),
            max_steps=number("ARGOT_TRAIN_MAX_STEPS", base.max_steps, int),
            num_negatives=number("ARGOT_TRAIN_NEGATIVES", base.num_negatives, int))
        config = cls(min_held_out=number("ARGOT_MIN_HELD_OUT", cls.min_held_out, int),
                     gate_margin=number("ARGOT_GATE_MARGIN", cls.gate_margin),
                     alphas=alphas, training=training)
        return replace(config, **overrides)


@dataclass
class Workbench:
    """What a cycle works with; `bot.services` builds it from the settings."""

    feedback: FeedbackStore
    registry: ModelRegistry
    client: Any
    """The Chroma `ClientAPI`."""
    embedder_for: Callable[[ModelVersion], TextEmbedder]
    base_model: str
    """The model candidates are trained from (ARGOT_MODEL or the bundled MiniLM)."""
    home: Path


@dataclass
class CycleReport:
    decision: str
    reason: str
    active_version: str
    candidate_version: str | None = None
    pairs: int = 0
    hard_negatives: int = 0
    metrics: dict[str, dict[str, Any]] = field(default_factory=lambda: {"active": {}, "candidate": {}})
    cycle_id: str = ""
    trigger: str = "manual"
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    gold: dict[str, dict[str, Any]] | None = None
    alpha: float | None = None
    alpha_scores: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    negatives: dict[str, int] = field(default_factory=dict)
    pairs_by_source: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, Any] = field(default_factory=dict)
    new_ratings: int = 0
    cleaned: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    image: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """PRODUCT.md's report first, then the details."""
        return {"decision": self.decision, "reason": self.reason,
                "active_version": self.active_version, "candidate_version": self.candidate_version,
                "pairs": self.pairs, "hard_negatives": self.hard_negatives, "metrics": self.metrics,
                "cycle_id": self.cycle_id, "trigger": self.trigger,
                "seconds": round(self.seconds, 2),
                "phases": {k: round(v, 2) for k, v in self.phases.items()},
                "gold": self.gold, "alpha": self.alpha, "alpha_scores": self.alpha_scores,
                "training": self.training, "negatives": self.negatives,
                "pairs_by_source": self.pairs_by_source, "ratings": self.ratings,
                "new_ratings": self.new_ratings, "cleaned": self.cleaned, "pruned": self.pruned,
                "image": self.image}


@dataclass
class _State:
    """What one phase hands the next."""

    active: ModelVersion | None = None
    active_embedder: TextEmbedder | None = None
    active_index: ChunkIndex | None = None
    corpus: ActiveCorpus | None = None
    ratings: Ratings | None = None
    training_questions: list[RatedQuestion] = field(default_factory=list)
    held_out: QuerySet | None = None
    gold: QuerySet | None = None
    mined: Mined | None = None
    version: str | None = None
    folder: Path | None = None
    candidate: Any = None
    candidate_embedder: TextEmbedder | None = None
    candidate_vectors: Any = None


class LearningCycle:
    def __init__(self, bench: Workbench, config: LearningConfig, *, trigger: str = "manual",
                 force: bool = False, holder: str = "",
                 checkpoint: Callable[[str], None] = crash_point,
                 progress: Callable[[str], None] = quiet) -> None:
        """`progress` hears one line as each phase starts and what it found, and the
        training steps as they go (`argot train` prints them)."""
        self.bench = bench
        self.config = config
        self.trigger = trigger
        self.force = force
        self.holder = holder
        self.checkpoint = checkpoint
        self.progress = progress
        self.log = CycleLog(bench.feedback)
        self.cycle_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.state = _State()
        self.report = CycleReport("skipped", "", bench.registry.active().name,
                                  cycle_id=self.cycle_id, trigger=trigger)

    def run(self) -> CycleReport:
        """Run every phase; returns the report (also recorded in the database)."""
        started = time.perf_counter()
        self.log.start(self.cycle_id, self.trigger, self.holder)
        try:
            for phase in PHASES:
                with self._phase(phase):
                    getattr(self, f"_{phase}")()
                if self.report.decision == "rejected" and phase == "gate":
                    self._discard()
                    with self._phase("report"):
                        self._report()
                    break
        except Skip as skip:
            self.report.decision, self.report.reason = "skipped", str(skip)
        except Exception as exc:
            self._discard()
            self.report.seconds = time.perf_counter() - started
            self.log.finish(self.cycle_id, {**self.report.as_dict(), "decision": "failed",
                                            "reason": str(exc)})
            if isinstance(exc, ArgotError):
                raise
            raise LearningError(f"The learning cycle failed ({type(exc).__name__}: {exc}); "
                                "the active model is unchanged.") from exc
        self.report.seconds = time.perf_counter() - started
        self.log.finish(self.cycle_id, self.report.as_dict())
        return self.report

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        self.log.enter(self.cycle_id, name)
        self.progress(f"{name} …")
        began = time.perf_counter()
        try:
            yield
        finally:
            self.report.phases[name] = self.report.phases.get(name, 0.0) + time.perf_counter() - began

    # -- phases --------------------------------------------------------------------------

    def _collect(self) -> None:
        from engine.learning.promotion import clean_pending

        bench, config, state, report = self.bench, self.config, self.state, self.report
        interrupted = self.log.mark_interrupted(but=self.cycle_id)
        report.cleaned = clean_pending(bench.registry, bench.client)
        report.cleaned += [f"cycle {c.cycle_id} (stopped during {c.phase})" for c in interrupted]
        report.new_ratings, not_due = check_due(bench.feedback, config)
        if not_due and not self.force:
            raise Skip(not_due)
        state.active = bench.registry.active()
        state.active_embedder = bench.embedder_for(state.active)
        if not isinstance(state.active_embedder, SentenceTransformerEmbedder):
            raise Skip(f"the model {state.active_embedder.model_id} cannot be fine-tuned here; "
                       "ARGOT_MODEL must be a sentence-transformers model")
        state.active_index = ChunkIndex(bench.client, state.active_embedder.model_id)
        state.corpus = ActiveCorpus.from_index(state.active_index)
        if not len(state.corpus):
            raise Skip("the index is empty; ingest documents first (`argot ingest PATH`)")
        known = set(state.corpus.corpus.doc_ids)
        state.ratings = gather_ratings(bench.feedback)
        train, _ = state.ratings.split()
        state.held_out = restricted(QuerySet.from_feedback(bench.feedback, "held_out"), known)
        if config.gold_queries:
            state.gold = restricted(QuerySet.load(config.gold_queries), known)
        enough = state.held_out is not None and len(state.held_out) >= config.min_held_out
        if not enough and not state.gold:
            have = len(state.held_out) if state.held_out else 0
            raise Skip(f"{have} held-out rated questions, {config.min_held_out} are needed to judge "
                       "a candidate (about one rated question in five is held out); keep rating, "
                       "or set ARGOT_GOLD_QUERIES")
        if not enough:
            state.held_out = None
        rated_examples = sum(len(q.positives) for q in train)
        if not rated_examples:
            raise Skip("no 👍 on training questions yet: nothing to learn from")
        chunks = ((c, state.corpus.metadata[c.chunk_id]) for c in state.corpus.corpus.chunks)
        state.training_questions = training_set(
            train, [*stored_pairs(bench.feedback), *index_pairs(chunks)],
            other_share=config.aux_share, other_min=config.aux_min)
        r = state.ratings
        report.ratings = {"votes": r.votes, "voters": r.voters, "questions": len(r.questions),
                          "training_questions": len(train),
                          "held_out_questions": len(state.held_out) if state.held_out else 0,
                          "gold_questions": len(state.gold) if state.gold else 0,
                          "conflicts": r.conflicts, "capped_voters": len(r.capped_voters),
                          "thinned": r.thinned}
        self.progress(f"  {len(train)} rated questions to learn from, "
                      f"{report.ratings['held_out_questions']} held out to judge on; "
                      f"{len(state.training_questions)} questions with FAQ and glossary pairs")

    def _mining(self) -> None:
        state, config = self.state, self.config
        state.mined = mine(state.training_questions, state.corpus, state.active_embedder,
                           range_min=config.range_min, range_max=config.range_max,
                           relative_margin=config.relative_margin,
                           num_negatives=config.training.num_negatives)
        self.report.pairs = len(state.mined.examples)
        self.report.hard_negatives = state.mined.hard_negatives
        self.report.negatives = {**dict(state.mined.negatives_by_kind),
                                 "dropped_near_positive": state.mined.dropped_near_positive}
        self.report.pairs_by_source = state.mined.pairs_by_source()
        if not state.mined.examples:
            raise Skip("none of the rated documents is in the index any more")
        self.progress(f"  {self.report.pairs} pairs, {self.report.hard_negatives} hard negatives")
        self.checkpoint("mining")

    def _training(self) -> None:
        from engine.learning.training import base_state_dict, blend, fine_tune, in_memory_embedder, save

        state, config, bench = self.state, self.config, self.bench
        state.version, state.folder = bench.registry.new_version_dir()
        self.report.candidate_version = state.version
        active = state.active_embedder
        prompts = {"query_prompt": active.query_prompt, "document_prompt": active.document_prompt}
        with tempfile.TemporaryDirectory(prefix="argot-train-") as scratch:
            result = fine_tune(bench.base_model, state.mined.examples, config.training,
                               work_dir=Path(scratch), progress=self.progress, **prompts)
        self.report.training = {"loss_function": config.training.loss, "steps": result.steps,
                                "rows": result.rows, "loss": result.loss,
                                "epochs": config.training.epochs,
                                "seconds": round(result.seconds, 2)}
        base_state = base_state_dict(bench.base_model) if len(config.alphas) > 1 or \
            config.alphas[0] < 1.0 else {}

        def model_at(alpha: float) -> TextEmbedder:
            return in_memory_embedder(blend(result.model, base_state, alpha),
                                      f"{state.version}-a{alpha}", **prompts)

        queries = state.held_out or state.gold
        self.progress(f"  choosing the blend with the base model among {list(config.alphas)}")
        alpha, scores = choose_alpha(model_at, config.alphas, state.corpus, active, queries,
                                     config.pool_depth)
        self.report.alpha = alpha
        self.report.alpha_scores = {str(a): round(s, 4) for a, s in scores.items()}
        state.candidate = blend(result.model, base_state, alpha)
        # The prompts travel with the model: a version folder named ft0003 gives no hint
        # that its base wanted "query: " in front of questions.
        state.candidate.prompts.update({k: v for k, v in (("query", prompts["query_prompt"]),
                                        ("document", prompts["document_prompt"])) if v})
        save(state.candidate, state.folder)
        state.candidate_embedder = in_memory_embedder(state.candidate, state.version, **prompts)
        self.checkpoint("training")

    def _evaluation(self) -> None:
        from engine.evaluation.vectors import embed_texts

        state, report = self.state, self.report
        corpus = state.corpus.corpus
        self.progress(f"  embedding {len(corpus.chunks)} chunks with the candidate")
        state.candidate_vectors = embed_texts(state.candidate_embedder, corpus.texts)
        if state.held_out:
            report.metrics = {
                "active": as_report(dense_scores(state.active_embedder, corpus,
                                                 state.corpus.vectors, state.held_out)),
                "candidate": as_report(dense_scores(state.candidate_embedder, corpus,
                                                    state.candidate_vectors, state.held_out))}
        if state.gold:
            report.gold = {
                "active": as_report(dense_scores(state.active_embedder, corpus,
                                                 state.corpus.vectors, state.gold)),
                "candidate": as_report(dense_scores(state.candidate_embedder, corpus,
                                                    state.candidate_vectors, state.gold))}
        self.checkpoint("evaluation")

    def _gate(self) -> None:
        from engine.evaluation.metrics import RankingScores

        def scores(found: dict[str, Any] | None) -> RankingScores | None:
            if not found:
                return None
            return RankingScores(found["ndcg@10"], found["mrr@10"], found["recall@1"],
                                 found["recall@5"], found["recall@10"], found["queries"])

        report = self.report
        gold = report.gold or {}
        verdict: Verdict = judge(scores(report.metrics.get("active")),
                                 scores(report.metrics.get("candidate")),
                                 margin=self.config.gate_margin,
                                 gold_active=scores(gold.get("active")),
                                 gold_candidate=scores(gold.get("candidate")),
                                 gold_tolerance=self.config.gold_tolerance)
        report.decision, report.reason = verdict.decision, verdict.reason
        self.progress(f"  {verdict.decision}: {verdict.reason}")

    def _reembed(self) -> None:
        from engine.learning.promotion import catch_up, write_collection

        state = self.state
        target = write_collection(self.bench.client, state.candidate_embedder.model_id, state.corpus,
                                  state.candidate_vectors, self.checkpoint)
        catch_up(state.active_index, target, state.candidate_embedder)

    def _switch(self) -> None:
        state, report = self.state, self.report
        self.checkpoint("switch")
        self.bench.registry.publish(ModelVersion(
            state.version, path=str(state.folder), parent=state.active.name,
            metrics={"held_out": report.metrics.get("candidate", {}),
                     "gold": (report.gold or {}).get("candidate", {})},
            note=f"cycle {self.cycle_id}: {report.pairs} pairs, alpha {report.alpha}"))
        report.active_version = state.version
        from engine.learning.promotion import prune

        report.pruned = prune(self.bench.registry, self.bench.client)

    def _report(self) -> None:
        if self.config.picture:
            try:
                self.report.image = str(self._draw())
            except Exception as exc:  # noqa: BLE001 - a missing picture must not undo a cycle
                log.warning("could not draw the embedding map: %s", exc)

    # -- helpers -------------------------------------------------------------------------

    def _discard(self) -> None:
        """Remove the candidate's pending folder and collection (rejected or failed)."""
        state = self.state
        if state.version and self.bench.registry.active().name != state.version:
            ChunkIndex(self.bench.client, state.version).drop()
            if state.folder is not None:
                shutil.rmtree(state.folder, ignore_errors=True)

    def _draw(self) -> Path:
        from engine.learning.starmap import (
            StarMapPoints,
            draw_before_after,
            keep_rows,
            public_documents,
            topic_of,
        )

        state = self.state
        corpus = state.corpus.corpus
        # The picture goes to the ops channel: only documents every channel may see.
        public = public_documents(state.active_index.iter_chunks(texts=False))
        topics = {c.doc_id: topic_of(c.doc_id, c.source) for c in corpus.chunks}
        labels = [topics[doc] for doc in corpus.doc_ids]
        shown = [doc in public for doc in corpus.doc_ids]
        rated = [(q.text, sorted(q.positives)[0]) for q in state.ratings.questions
                 if q.positives and sorted(q.positives)[0] in public][:300]

        def side(embedder: TextEmbedder, vectors: Any) -> tuple[Any, Any]:
            documents = keep_rows(StarMapPoints(corpus.document_vectors(vectors), labels,
                                                list(corpus.doc_ids)), shown)
            questions = None
            if rated:
                questions = StarMapPoints(embedder.embed_batch([t for t, _ in rated], "query"),
                                          [topics[d] for _, d in rated], [t for t, _ in rated])
            return documents, questions

        out = self.bench.home / "reports" / f"cycle-{self.cycle_id}.png"
        return draw_before_after(side(state.active_embedder, state.corpus.vectors),
                                 side(state.candidate_embedder, state.candidate_vectors), out,
                                 titles=(f"before: {state.active.name}",
                                         f"after: {state.version} ({self.report.decision})"))


def check_due(feedback: FeedbackStore, config: LearningConfig) -> tuple[int, str | None]:
    """(new ratings since the last decided cycle, why a cycle is not due or None)."""
    new = feedback.vote_count(since=CycleLog(feedback).last_decided_start())
    if new < config.min_new_ratings:
        return new, (f"{new} new ratings since the last cycle; {config.min_new_ratings} are "
                     "needed (ARGOT_MIN_NEW_RATINGS)")
    return new, None


def skipped_report(cycle_log: CycleLog, active_version: str, reason: str, trigger: str,
                   holder: str = "") -> CycleReport:
    """Record a cycle that stopped before it began (not due, or another one running)."""
    report = CycleReport("skipped", reason, active_version, trigger=trigger,
                         cycle_id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
    cycle_log.start(report.cycle_id, trigger, holder)
    cycle_log.finish(report.cycle_id, report.as_dict())
    return report


def restricted(queries: QuerySet, known: set[str]) -> QuerySet | None:
    """Only questions whose relevant documents are still in the index; None when none are."""
    if not len(queries):
        return None
    try:
        return queries.restricted_to(known)
    except QuerySetError:
        return None
