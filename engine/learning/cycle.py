"""One learning cycle: collect → mine → train → evaluate → gate → re-embed → switch → report.

The cycle turns the ratings in the feedback store into a candidate model, measures it
against the active one on held-out questions, and switches only to a better one
(`engine.learning.gate`). It never leaves a half-made version active: the candidate's folder and
collection stay pending until one atomic registry write (`engine.learning.promotion`), and the
next cycle removes whatever a killed one left behind.

`run` calls the phases in order, each handing the next what it made: `Collected` and
`Mined` (engine/learning/collect.py), `Pending`, `Trained` and `Evaluated`
(engine/learning/candidate.py). The report (engine/learning/report.py) gathers what
each found. The caller provides the lease (one cycle at a time: `jobs.learning`) and,
for the scheduled job, the separate process with its own thread budget.

Tip:
    Set `ARGOT_MIN_NEW_RATINGS` to about a day's ratings so the nightly job trains on
    something new; `argot train --force` runs a cycle regardless.

Example:
    >>> report = LearningCycle(services.workbench(), services.learning_config()).run()
    >>> report.decision, report.reason
    ('promoted', 'held-out nDCG@10 0.612 → 0.689 (+0.077) on 31 questions')
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.embedders import TextEmbedder
from engine.errors import ArgotError
from engine.feedback import FeedbackStore
from engine.index import ChunkIndex
from engine.learning import candidate
from engine.learning.collect import Collected, Skip, collect, mine_examples
from engine.learning.config import LearningConfig
from engine.learning.cyclelog import CycleLog
from engine.learning.mining import Mined
from engine.learning.report import CycleReport, new_cycle_id
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


@dataclass
class Workbench:
    """What a cycle works with; `bot.services.Services.workbench` builds it."""

    feedback: FeedbackStore
    registry: ModelRegistry
    client: Any
    """The Chroma `ClientAPI`."""
    embedder_for: Callable[[ModelVersion], TextEmbedder]
    base_model: str
    """The model candidates are trained from (ARGOT_MODEL or the bundled MiniLM)."""
    home: Path


@dataclass(frozen=True)
class Workings:
    """What a finished run made, for benchmarks that measure it further."""

    collected: Collected
    mined: Mined
    evaluated: candidate.Evaluated


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
        self.cycle_id = new_cycle_id()
        self.report = CycleReport("skipped", "", bench.registry.active().name,
                                  cycle_id=self.cycle_id, trigger=trigger)
        self.pending: candidate.Pending | None = None
        """The candidate's folder and name once training starts, until it is published."""
        self.workings: Workings | None = None

    def run(self) -> CycleReport:
        """Run every phase; returns the report (also recorded in the database)."""
        started = time.perf_counter()
        self.log.start(self.cycle_id, self.trigger, self.holder)
        try:
            self._phases()
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

    def _phases(self) -> None:
        from engine.learning.promotion import clean_pending
        from engine.search.profile import LearnedProfile, rejected_terms

        bench, config, report, say = self.bench, self.config, self.report, self.progress
        with self._phase("collect"):
            interrupted = self.log.mark_interrupted(but=self.cycle_id)
            report.cleaned = clean_pending(bench.registry, bench.client)
            report.cleaned += [f"cycle {c.cycle_id} (stopped during {c.phase})" for c in interrupted]
            collected = collect(bench.feedback, bench.registry, bench.client, bench.embedder_for,
                                config, report, force=self.force, progress=say)
        with self._phase("mining"):
            mined = mine_examples(collected, config, report, say)
            self.checkpoint("mining")
        rejected = rejected_terms(bench.registry.root)
        with self._phase("training"):
            self.pending = pending = candidate.Pending.allocate(bench.registry)
            report.candidate_version = pending.name
            trained = candidate.train(collected, mined, pending, bench.base_model, rejected,
                                      config, report, say)
            self.checkpoint("training")
        with self._phase("evaluation"):
            path = collected.active.path
            served = LearnedProfile.load(Path(path) if path else None, rejected)
            evaluated = candidate.evaluate(collected, trained, pending, served, report, say,
                                           config.pool_depth)
            self.checkpoint("evaluation")
        with self._phase("gate"):
            verdict = candidate.gate(evaluated, config, report, say)
        if verdict.decision == "promoted":
            with self._phase("reembed"):
                candidate.reembed(bench.client, collected, evaluated, self.checkpoint)
            with self._phase("switch"):
                candidate.publish(bench.registry, bench.client, collected, evaluated, pending,
                                  self.cycle_id, report, self.checkpoint)
        else:
            self._discard()
        self.workings = Workings(collected, mined, evaluated)
        with self._phase("report"):
            if config.picture:
                self._picture(collected, evaluated)

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        self.log.enter(self.cycle_id, name)
        self.progress(f"{name} …")
        began = time.perf_counter()
        try:
            yield
        finally:
            self.report.phases[name] = self.report.phases.get(name, 0.0) + time.perf_counter() - began

    def _discard(self) -> None:
        """Remove the candidate's pending folder and collection (rejected or failed)."""
        pending = self.pending
        if pending and self.bench.registry.active().name != pending.name:
            ChunkIndex(self.bench.client, pending.name).drop()
            shutil.rmtree(pending.folder, ignore_errors=True)

    def _picture(self, collected: Collected, evaluated: candidate.Evaluated) -> None:
        out = self.bench.home / "reports" / f"cycle-{self.cycle_id}.png"
        titles = (f"before: {collected.active.name}",
                  f"after: {self.report.candidate_version} ({self.report.decision})")
        try:
            self.report.image = str(draw_before_after(collected, evaluated, out, titles))
        except Exception as exc:  # noqa: BLE001 - a missing picture must not undo a cycle
            log.warning("could not draw the embedding map: %s", exc)


def draw_before_after(collected: Collected, evaluated: candidate.Evaluated, out: Path,
                      titles: tuple[str, str]) -> Path:
    """The documents and rated questions in the active model's space and the new one's.
    The picture goes to the ops channel: only documents every channel may see."""
    from engine.learning import starmap
    from engine.learning.starmap import StarMapPoints, keep_rows, public_documents, topic_of

    corpus = collected.corpus.corpus
    public = public_documents(collected.index.iter_chunks(texts=False))
    topics = {c.doc_id: topic_of(c.doc_id, c.source) for c in corpus.chunks}
    labels = [topics[doc] for doc in corpus.doc_ids]
    shown = [doc in public for doc in corpus.doc_ids]
    rated = [(q.text, sorted(q.positives)[0]) for q in collected.ratings.questions
             if q.positives and sorted(q.positives)[0] in public][:300]

    def side(embedder: TextEmbedder, vectors: Any) -> tuple[Any, Any]:
        documents = keep_rows(StarMapPoints(corpus.document_vectors(vectors), labels,
                                            list(corpus.doc_ids)), shown)
        questions = None
        if rated:
            questions = StarMapPoints(embedder.embed_batch([t for t, _ in rated], "query"),
                                      [topics[d] for _, d in rated], [t for t, _ in rated])
        return documents, questions

    return starmap.draw_before_after(side(collected.embedder, collected.corpus.vectors),
                                     side(evaluated.embedder, evaluated.vectors), out,
                                     titles=titles)
