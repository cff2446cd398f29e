"""The candidate's phases: train it, measure it with what else was learnt, judge it, and
put it into service.

The candidate is pending from `Pending.allocate` until `publish`: its folder and its
collection exist, but no registry entry points at them (`engine.learning.promotion`).
Each phase takes what the earlier ones made and returns what it made itself.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.learning.collect import Collected, record_trained_on
from engine.learning.config import LearningConfig
from engine.learning.gate import Verdict, choose_alpha, judge
from engine.learning.mining import Mined
from engine.learning.report import CycleReport
from engine.registry import ModelRegistry, ModelVersion

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Pending:
    """The candidate's registry name and folder, before anything points at them."""

    name: str
    folder: Path

    @classmethod
    def allocate(cls, registry: ModelRegistry) -> Pending:
        name, folder = registry.new_version_dir()
        return cls(name, folder)


@dataclass(frozen=True)
class Trained:
    """The fine-tuned (and blended) candidate, saved in its folder."""

    embedder: TextEmbedder
    """In memory; its `model_id` is the pending name, which keys its collection."""
    vocabulary: Any
    """`engine.learning.vocabulary.Vocabulary`: the glossary learnt this cycle."""
    learn: Any = None
    """Learns a vocabulary from some of the training questions (the levers' cross-check)."""
    halves: list[tuple[frozenset[str], Any]] = field(default_factory=list)
    """Cross-fitting (`engine.learning.crossfit`): each half's model (blended as the
    candidate is) with the rated questions it never saw."""


@dataclass(frozen=True)
class Evaluated:
    """The model the new version answers with, its vectors, and the levers chosen."""

    embedder: TextEmbedder
    vectors: np.ndarray
    choice: Any
    """`engine.learning.levers.LeverChoice`."""


def train(collected: Collected, mined: Mined, pending: Pending, base_model: str,
          rejected: set[str], config: LearningConfig, report: CycleReport,
          progress: Progress) -> Trained:
    """Fine-tune from `base_model` (in two cross-fitted halves, their lessons added, when there are
    enough rated questions: `engine.learning.crossfit`), blend with it at the best weight,
    save the result in the pending folder, and learn this cycle's vocabulary."""
    from engine.learning.crossfit import at_served_strength, train_combined
    from engine.learning.training import base_state_dict, blend, fine_tune, in_memory_embedder, save

    active = collected.embedder
    prompts = {"query_prompt": active.query_prompt, "document_prompt": active.document_prompt}
    halves = collected.halves
    blending = len(config.alphas) > 1 or config.alphas[0] < 1.0
    base_state = base_state_dict(base_model) if blending or halves else {}
    with tempfile.TemporaryDirectory(prefix="argot-train-") as scratch:
        if halves:
            trained_halves, tuned = train_combined(base_model, mined.examples, halves, config.training,
                                                   base_state, work_dir=Path(scratch), progress=progress,
                                                   **prompts)
            results = [half.result for half in trained_halves]
        else:
            trained_halves = []
            results = [fine_tune(base_model, mined.examples, config.training,
                                 work_dir=Path(scratch), progress=progress, **prompts)]
            tuned = results[0].model
    report.training = {"loss_function": config.training.loss,
                       "steps": sum(r.steps for r in results), "rows": max(r.rows for r in results),
                       "loss": _mean([r.loss for r in results]),
                       "epochs": max(r.epochs for r in results),
                       "stopped_early": any(r.stopped_early for r in results),
                       "seconds": round(sum(r.seconds for r in results), 2),
                       "halves": len(trained_halves),
                       "frozen_layers": min(r.frozen_layers for r in results),
                       "precision": results[0].precision}

    def model_at(alpha: float) -> TextEmbedder:
        return in_memory_embedder(blend(tuned, base_state, alpha),
                                  f"{pending.name}-a{alpha}", **prompts)

    progress(f"  choosing the blend with the base model among {list(config.alphas)}")
    alpha, scores = choose_alpha(model_at, config.alphas, collected.corpus, active,
                                 collected.judging, config.pool_depth)
    report.alpha = alpha
    report.alpha_scores = {str(a): round(s, 4) for a, s in scores.items()}
    model = blend(tuned, base_state, alpha)
    # The prompts travel with the model: a version folder named ft0003 gives no hint
    # that its base wanted "query: " in front of questions.
    model.prompts.update({k: v for k, v in (("query", prompts["query_prompt"]),
                                            ("document", prompts["document_prompt"])) if v})
    save(model, pending.folder)
    vocabulary = learn_vocabulary(collected, rejected)
    progress(f"  {len(vocabulary)} glossary entries learnt or defined")
    judges = at_served_strength(trained_halves, base_state, alpha)
    return Trained(in_memory_embedder(model, pending.name, **prompts), vocabulary,
                   lambda questions: learn_vocabulary(collected, rejected, questions), judges)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def learn_vocabulary(collected: Collected, rejected: set[str], questions: Any = None) -> Any:
    """This cycle's glossary: learnt from the training questions, plus `/argot define`."""
    from engine.learning.vocabulary import learn_vocabulary
    from engine.search.vocabulary import defined_entries

    corpus = collected.corpus.corpus
    defined = {c.doc_id: (c.doc_id, c.title, c.text) for c in corpus.chunks
               if c.doc_id.startswith("defined/") and c.title and c.position == 0}
    return learn_vocabulary(collected.training_questions if questions is None else questions,
                            collected.documents,
                            rejected=rejected, defined=defined_entries(defined.values()))


def evaluate(collected: Collected, trained: Trained, pending: Pending, served: Any,
             report: CycleReport, progress: Progress, pool_depth: int = 20) -> Evaluated:
    """Embed the corpus with the candidate, choose the model, vocabulary, memory and
    fusion on the judging questions, and measure both sides as they would answer.
    `served` is what the active version answers with besides its model."""
    from engine.evaluation.vectors import embed_texts
    from engine.learning.levers import choose_levers
    from engine.learning.sides import ModelSide, measure_profile
    from engine.learning.training import in_memory_embedder, save

    corpus = collected.corpus.corpus
    progress(f"  embedding {len(corpus.chunks)} chunks with the candidate")
    embedder, vectors = trained.embedder, embed_texts(trained.embedder, corpus.texts)
    active = ModelSide("active", collected.embedder, collected.corpus.vectors)
    candidate = ModelSide("candidate", embedder, vectors)
    queries = collected.judging
    progress("  choosing the model, vocabulary, memory and fusion on "
             f"{len(queries)} {'held-out' if collected.held_out else 'gold'} questions")
    judges = half_sides(collected, trained, pool_depth)
    choice = choose_levers(corpus, queries, active, candidate, trained.vocabulary,
                           collected.training_questions, served, learn=trained.learn,
                           halves=judges, seen=collected.seen,
                           question_weights=collected.ratings.judging_weights())
    report.levers = choice.as_report()
    if choice.setting.model == "active":
        # The fine-tuned weights did not earn their place: the new version answers with
        # the active model's weights and vectors, and only what else was learnt.
        kept = collected.embedder
        save(kept.model, pending.folder)
        embedder = in_memory_embedder(kept.model, pending.name, query_prompt=kept.query_prompt,
                                      document_prompt=kept.document_prompt)
        vectors = collected.corpus.vectors
    if collected.held_out:
        report.metrics = {"active": choice.served.scores.as_dict(),
                          "candidate": choice.chosen.scores.as_dict()}
    if collected.gold:
        chosen = ModelSide("candidate", embedder, vectors)
        report.gold = {
            "active": measure_profile(corpus, collected.gold, active, served).scores.as_dict(),
            "candidate": measure_profile(corpus, collected.gold, chosen,
                                         choice.profile).scores.as_dict()}
    return Evaluated(embedder, vectors, choice)


def half_sides(collected: Collected, trained: Trained, pool_depth: int) -> list[tuple[frozenset[str], Any]]:
    """Each cross-fitted half's model as the levers see it, over a pool: the documents the
    active model ranks in its top `pool_depth` for the half's questions (as asked and as
    the vocabulary expands them), plus their rated ones. At most `MAX_JUDGED` questions
    of a half (a stable sample) are judged by it, which bounds the pool; questions the
    active version learnt from are not judged (`Collected.seen`)."""
    from engine.evaluation.vectors import embed_texts
    from engine.learning.crossfit import MAX_JUDGED
    from engine.learning.gate import pool_of
    from engine.learning.sides import ModelSide
    from engine.learning.training import in_memory_embedder
    from engine.learning.trainingdata import stable_fraction

    active = collected.embedder
    sides = []
    for n, (unseen, model) in enumerate(trained.halves):
        asked = sorted((q for q in collected.training_questions
                        if q.key in unseen and q.key not in collected.seen),
                       key=lambda q: stable_fraction("judged", q.key))[:MAX_JUDGED]
        unseen = frozenset(q.key for q in asked)
        texts = sorted({t for q in asked for t in (q.text, trained.vocabulary.expand_text(q.text))})
        pool = pool_of(collected.corpus, active, texts, {d for q in asked for d in q.positives},
                       pool_depth)
        embedder = in_memory_embedder(model, f"half-{n + 1}", query_prompt=active.query_prompt,
                                      document_prompt=active.document_prompt)
        sides.append((unseen, ModelSide("candidate", embedder, embed_texts(embedder, pool.texts), pool)))
    return sides


def gate(evaluated: Evaluated, config: LearningConfig, report: CycleReport,
         progress: Progress) -> Verdict:
    """Promote or reject (`engine.learning.gate.judge`); the verdict goes in the report."""
    from engine.evaluation.metrics import RankingScores

    def scores(found: dict[str, Any] | None) -> RankingScores | None:
        if not found:
            return None
        return RankingScores(found["ndcg@10"], found["mrr@10"], found["recall@1"],
                             found["recall@5"], found["recall@10"], found["queries"])

    gold = report.gold or {}
    verdict = judge(scores(report.metrics.get("active")), scores(report.metrics.get("candidate")),
                    margin=config.gate_margin, gold_active=scores(gold.get("active")),
                    gold_candidate=scores(gold.get("candidate")),
                    gold_tolerance=config.gold_tolerance,
                    evidence=evaluated.choice.evidence if report.metrics.get("active") else None,
                    min_questions=config.min_held_out, made_of=_made_of(evaluated.choice))
    report.decision, report.reason = verdict.decision, verdict.reason
    progress(f"  {verdict.decision}: {verdict.reason}")
    return verdict


def _made_of(choice: Any) -> str:
    """"46 held out, 239 cross-checked; the model cross-fitted on 239" (and "; not the 95
    the active version learnt from")."""
    left_out = f"; not the {choice.left_out} the active version learnt from" if choice.left_out else ""
    if choice.reply_weight != 1.0:
        left_out += f"; a page named in a reply counting for {choice.reply_weight:.2f} questions"
    if not choice.cross_checked:
        return f"{choice.held_out} held out{left_out}" if left_out else ""
    fitted = (f"; the model cross-fitted on {choice.cross_fitted}"
              if choice.cross_fitted else "; the model judged on the held-out ones")
    return f"{choice.held_out} held out, {choice.cross_checked} cross-checked{fitted}{left_out}"


def reembed(client: Any, collected: Collected, evaluated: Evaluated,
            checkpoint: Callable[[str], None]) -> None:
    """The candidate's own collection, a complete copy of the active one's documents."""
    from engine.learning.promotion import catch_up, write_collection

    target = write_collection(client, evaluated.embedder.model_id, collected.corpus,
                              evaluated.vectors, checkpoint)
    catch_up(collected.index, target, evaluated.embedder)


def publish(registry: ModelRegistry, client: Any, collected: Collected, evaluated: Evaluated,
            pending: Pending, cycle_id: str, report: CycleReport,
            checkpoint: Callable[[str], None]) -> None:
    """Save what else was learnt, then register and activate the version in one write;
    the oldest versions beyond the kept ones are pruned."""
    from engine.learning.promotion import prune

    choice = evaluated.choice
    choice.profile.save(pending.folder)
    record_trained_on(pending.folder, collected)
    model = getattr(evaluated.embedder, "model", None)
    if model is not None:  # questions to the new version go through ONNX Runtime at once
        from engine.onnxqueries import export_queries

        export_queries(model, pending.folder / "onnx")
    report.learnt = [entry.describe() for entry in choice.profile.vocabulary.entries]
    checkpoint("switch")
    registry.publish(ModelVersion(
        pending.name, path=str(pending.folder), parent=collected.active.name,
        metrics={"held_out": report.metrics.get("candidate", {}),
                 "gold": (report.gold or {}).get("candidate", {})},
        note=f"cycle {cycle_id}: {report.pairs} pairs, alpha {report.alpha}; "
             f"{choice.setting.describe()}"))
    report.active_version = pending.name
    report.pruned = prune(registry, client)
