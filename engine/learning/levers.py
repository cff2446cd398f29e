"""Choosing what a cycle changes in the answering stack, on held-out questions.

A cycle has four levers: the fine-tuned model, the learnt vocabulary (question
expansions), the feedback memory (documents chosen for close rated questions, as one
more ranked list) and the fusion weights of dense, BM25 and memory. The fusion weights are
chosen apart for questions holding a word no document uses (*unfamiliar* words, the
team's own: BM25 cannot match them) and for the others, each on the judging questions of
its kind; a kind with fewer than `MIN_KIND` of them keeps what it is served today, so
questions in slang never choose the weights of questions in the documents' words (where
BM25 helps). Every combination
is measured on the held-out slice through the serving stack itself
(`engine.search.retrieval.Searcher` over exact vectors, hybrid mode, weighted RRF), the
best one is kept, and it is compared question by question with what answers today (the
active model with its own learnt profile) for the gate (`engine.learning.gate`).

A lever earns its place: among settings within `TIE` nDCG@10 of the best, the one
that changes least wins (the active model before the fine-tuned one, no vocabulary
before one, plain RRF before other weights). What each kept lever contributed is
measured by leaving it out again ("which lever moved them" in the report).

Example:
    >>> choice = choose_levers(corpus, held_out, active, candidate, vocabulary, training, served)
    >>> choice.setting.describe(), choice.contributions
    ('candidate model, vocabulary, dense 1 / bm25 0.5', {'vocabulary': 0.121, 'model': 0.034})
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.querysets import LabelledQuery, QuerySet, normalise_question, rewording_groups
from engine.learning.crossfit import answers_by_halves, cross_checkable, fold_of
from engine.learning.gate import CONFIDENCE, Evidence, paired_bootstrap
from engine.learning.sides import (
    Answers,
    Fusion,
    Measured,
    ModelSide,
    counted,
    fused,
    measure,
    memory_without,
    question_lists,
    rated_memory,
    remembering,
    scored,
    served_fusion,
    served_weights,
)
from engine.learning.trainingdata import RatedQuestion
from engine.search.lexical import Bm25
from engine.search.memory import DEFAULT_THRESHOLD, FeedbackMemory
from engine.search.profile import LearnedProfile
from engine.search.vocabulary import LEARNT, Vocabulary

K = 10
TIE = 0.002
FOLDS = 5
FUSION_WEIGHTS = ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0), (1.0, 0.25), (1.0, 0.0), (0.0, 1.0))
MEMORY_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
MIN_KIND = 10
"""Judging questions of one kind (with unfamiliar words, or without) needed to choose
that kind's fusion weights; with fewer it keeps today's."""
STEP_DOWN_CONFIDENCE = 0.975
"""The confidence a setting keeping today's model needs when the best one, with the new
model, could be noise: a second try is held to a stricter bound, so that the two together
promote noise at most 7.5 % of the time where one test allows 5 %."""

@dataclass(frozen=True)
class Setting:
    model: str = "active"
    vocabulary: bool = False
    memory: float = 0.0
    dense: float = 1.0
    bm25: float = 1.0
    unfamiliar: Fusion | None = None
    """(dense, BM25) for questions holding an unfamiliar word; None: the same as the others."""

    @property
    def changes(self) -> int:
        """How much this setting changes from plain answering (fewer wins ties)."""
        return (int(self.model != "active") + int(self.vocabulary) + int(self.memory > 0)
                + int((self.dense, self.bm25) != (1.0, 1.0)) + int(self.unfamiliar is not None))

    def describe(self) -> str:
        parts = [f"{self.model} model"]
        if self.vocabulary:
            parts.append("vocabulary")
        if self.memory:
            parts.append(f"memory {self.memory:g}")
        parts.append(f"dense {self.dense:g} / bm25 {self.bm25:g}")
        described = ", ".join(parts)
        if self.unfamiliar is not None:
            dense, bm25 = self.unfamiliar
            described += f"; questions with unfamiliar words: dense {dense:g} / bm25 {bm25:g}"
        return described

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "vocabulary": self.vocabulary, "memory": self.memory,
                "dense": self.dense, "bm25": self.bm25,
                "unfamiliar": list(self.unfamiliar) if self.unfamiliar is not None else None}


@dataclass
class LeverChoice:
    setting: Setting
    profile: LearnedProfile
    """What the promoted version answers with besides its model."""
    served: Measured
    """What answers today (the active model with its own profile)."""
    chosen: Measured
    evidence: Evidence
    tried: dict[str, float] = field(default_factory=dict)
    """Setting → held-out nDCG@10, best first (the first few)."""
    contributions: dict[str, float] = field(default_factory=dict)
    """Lever → nDCG@10 lost when it alone is left out of the chosen setting."""
    by_model: dict[str, float] = field(default_factory=dict)
    """"active" / "candidate" → held-out nDCG@10 of that model alone (dense search, no
    other lever): what fine-tuning did by itself."""
    held_out: int = 0
    cross_checked: int = 0
    """Training questions answered with what the other folds taught (see `choose_levers`)."""
    cross_fitted: int = 0
    """Of those, the ones the candidate answered with a model that never saw them."""
    left_out: int = 0
    """Rated questions not cross-checked: the active version learnt them."""
    unfamiliar: int = 0
    """Judging questions holding a word no document uses."""
    passed_over: dict[str, Any] = field(default_factory=dict)
    """The best setting when its gain could be noise and one keeping today's model was
    surely better: "described" and "evidence" (see `pick`)."""
    reply_weight: float = 1.0
    """How many asked questions a question whose page came by reply counts for."""

    not_kept: list[str] = field(default_factory=list)
    """The glossary learnt this cycle, in words, when the chosen setting leaves it out
    (the questions it never learnt from read no better with it)."""

    def as_report(self) -> dict[str, Any]:
        return {"chosen": self.setting.as_dict(), "described": self.setting.describe(),
                "contributions": self.contributions, "evidence": self.evidence.as_dict(),
                "tried": self.tried, "by_model": self.by_model, "held_out": self.held_out,
                "cross_checked": self.cross_checked, "cross_fitted": self.cross_fitted,
                "left_out": self.left_out, "unfamiliar": self.unfamiliar,
                "passed_over": self.passed_over, "reply_weight": self.reply_weight,
                "not_kept": self.not_kept, "vocabulary": len(self.profile.vocabulary),
                "memory": len(self.profile.memory) if self.profile.memory is not None else 0}


def choose_levers(corpus: EvalCorpus, queries: QuerySet, active: ModelSide,
                  candidate: ModelSide | None, vocabulary: Vocabulary,
                  remembered: Sequence[RatedQuestion], served: LearnedProfile, *,
                  learn: Callable[[list[RatedQuestion]], Vocabulary] | None = None,
                  halves: Sequence[tuple[frozenset[str], ModelSide]] = (),
                  seen: frozenset[str] = frozenset(),
                  question_weights: Mapping[str, float] | None = None,
                  folds: int = FOLDS, memory_threshold: float = DEFAULT_THRESHOLD) -> LeverChoice:
    """The best setting of the levers, and how it compares with today, question by question.

    The evidence is the held-out slice, plus (with `learn`) every rated training question
    *cross-checked*: the questions are split into `folds` by their rewordings' group
    (`rewording_groups`, as the held-out slice is split: one question asked four ways stays
    together, while two questions about one page may fall apart, as a held-out question and
    a rated one may), and each one is answered with the vocabulary and memory learnt from
    the other folds only, by the active model (the candidate model trained on it, so it
    could only flatter itself there). The vocabulary and memory levers are thus judged on
    every rated question, and the model lever on the held-out slice; with `halves`
    (`engine.learning.crossfit`), the candidate answers each cross-checked question with
    the half's model that never saw it, so the model lever is judged on every rated
    question too. A rated question the active version learnt from (`seen`) judges nothing:
    today's model recalls its page, which flatters whatever leans on the dense list (on the
    demo benchmark, dropping BM25 for slang read +0.050 nDCG@10 on such questions, and was
    the worst weighting on held-out slang: MRR@10 −0.036 against BM25 at a quarter).

    Args:
        corpus: every indexed chunk.
        queries: the held-out slice (never trained on).
        active / candidate: the two models (candidate None: only the other levers).
        vocabulary: the vocabulary learnt this cycle from all training questions.
        remembered: the training questions (the memory, and the folds).
        served: the active version's own profile (what answers today).
        learn: learns a vocabulary from some training questions (None: held-out only).
        halves: (rated questions it never saw, its model) for each cross-fitted half.
        seen: rated questions the active version learnt from: not cross-checked (they
            still teach the other folds' vocabulary and memory).
        question_weights: question key → how many asked questions it counts for (1 when
            not listed; `Ratings.judging_weights`): every mean and the evidence are weighted.
    """
    bm25 = Bm25.over(corpus.chunks)
    # The same questions are asked of each model many times: each is embedded once.
    sides = {side.name: remembering(side) for side in (active, candidate) if side is not None}
    active = sides["active"]
    halves = [(unseen - seen, remembering(half)) for unseen, half in halves]
    memories = [q for q in remembered if q.source == "rating" and q.positives]
    # Rewordings' groups: the folds, and the bootstrap's draws (wordings rise and fall together).
    groups = rewording_groups({**{normalise_question(q.query): q.relevant for q in queries},
                               **{q.key: q.positives for q in memories}})

    def held(side: ModelSide, expand: Vocabulary, memory: FeedbackMemory | None) -> Answers:
        return Answers.of(queries, question_lists(corpus, queries, side, expand, memory, bm25), bm25,
                          question_weights)

    served_parts = [held(active, served.vocabulary, served.memory)]
    parts: dict[tuple[str, bool], list[Answers]] = {}
    memory_of: dict[tuple[str, bool], FeedbackMemory | None] = {}
    for model, with_vocabulary in itertools.product(sides, (False, True)):
        expand = vocabulary if with_vocabulary else Vocabulary()
        memory_of[(model, with_vocabulary)] = rated_memory(sides[model], expand, memories, memory_threshold)
        parts[(model, with_vocabulary)] = [held(sides[model], expand, memory_of[(model, with_vocabulary)])]
    checked = cross_fitted = 0
    if learn is not None:
        known = set(corpus.doc_ids)
        for fold in range(folds):
            inside = [q for q in memories
                      if fold_of(groups[q.key], folds) == fold and cross_checkable(q, known, seen)]
            if not inside:
                continue
            asked = QuerySet([LabelledQuery(q.text, frozenset(set(q.positives) & known)) for q in inside])
            keys = {q.key for q in inside}
            others = [q for q in memories if q.key not in keys]
            learnt = learn([q for q in remembered if q.key not in keys or q.source != "rating"])

            def part(expand: Vocabulary, memory: FeedbackMemory | None, asked: QuerySet = asked) -> Answers:
                return Answers.of(asked, question_lists(corpus, asked, active, expand, memory, bm25),
                                  bm25, question_weights)

            served_parts.append(part(served.vocabulary, memory_without(served.memory, keys)))
            crossed = {flag: part(expand, rated_memory(active, expand, others, memory_threshold))
                       for flag, expand in ((False, Vocabulary()), (True, learnt))}
            fitted = {flag: answers_by_halves(corpus, asked, [q.key for q in inside], halves, active,
                                              expand, others, memory_threshold, bm25,
                                              question_weights)
                      for flag, expand in ((False, Vocabulary()), (True, learnt))} if halves else crossed
            for (model, with_vocabulary), found in parts.items():
                found.append((crossed if model == "active" else fitted)[with_vocabulary])
            checked += len(inside)
            cross_fitted += sum(1 for q in inside if any(q.key in unseen for unseen, _ in halves))
    today = measure(served_parts, *served_weights(served))
    flags = [flag for part in served_parts for flag in part.unfamiliar]
    unfamiliar = sum(flags)
    served_familiar, served_unfamiliar = served_fusion(served)
    familiar_options = FUSION_WEIGHTS if len(flags) - unfamiliar >= MIN_KIND else (served_familiar,)
    unfamiliar_options = FUSION_WEIGHTS if unfamiliar >= MIN_KIND else (served_unfamiliar,)
    results: dict[Setting, Measured] = {}
    for (model, with_vocabulary), found in parts.items():
        if with_vocabulary and not vocabulary:
            continue
        ranked_by: dict[tuple[float, ...], list[list[str]]] = {}

        def rankings(weights: tuple[float, ...], found: list[Answers] = found,
                     ranked_by: dict[tuple[float, ...], list[list[str]]] = ranked_by) -> list[list[str]]:
            if weights not in ranked_by:
                ranked_by[weights] = [fused(lists, weights) for part in found for lists in part.lists]
            return ranked_by[weights]

        relevant = [rel for part in found for rel in part.relevant]
        counts = counted(found)
        kinds = [flag for part in found for flag in part.unfamiliar]
        for familiar, for_unfamiliar, memory_weight in itertools.product(
                familiar_options, unfamiliar_options, MEMORY_WEIGHTS):
            if memory_weight and memory_of[(model, with_vocabulary)] is None:
                continue
            setting = Setting(model, with_vocabulary, memory_weight, *familiar,
                              unfamiliar=None if for_unfamiliar == familiar else for_unfamiliar)
            either = (rankings((*familiar, memory_weight)), rankings((*for_unfamiliar, memory_weight)))
            results[setting] = scored([either[flag][n] for n, flag in enumerate(kinds)], relevant, counts)
    setting, evidence, passed_over = pick(results, today, [groups[key] for part in served_parts
                                                           for key in part.keys], counted(served_parts))
    chosen = results[setting]
    memory = memory_of[(setting.model, setting.vocabulary)] if setting.memory else None
    weights = {"dense": setting.dense, "bm25": setting.bm25}
    if memory is not None:
        weights["memory"] = setting.memory
    unfamiliar_weights = ({"dense": setting.unfamiliar[0], "bm25": setting.unfamiliar[1]}
                          if setting.unfamiliar is not None else None)
    profile = LearnedProfile(vocabulary if setting.vocabulary else Vocabulary(), memory, weights,
                             unfamiliar_weights)
    choice = LeverChoice(setting, profile, today, chosen, evidence, passed_over=passed_over,
                         tried=_tried(results),
                         contributions=_contributions(setting, results),
                         by_model={name: round(measure(parts[(name, False)][:1], [1.0, 0.0, 0.0])
                                               .scores.ndcg_at_10, 4) for name in sides},
                         held_out=len(queries), cross_checked=checked, cross_fitted=cross_fitted,
                         left_out=sum(1 for q in memories if q.key in seen) if learn is not None else 0,
                         unfamiliar=unfamiliar,
                         reply_weight=max((question_weights or {}).values(), default=1.0),
                         not_kept=[] if setting.vocabulary else
                         [e.describe() for e in vocabulary.entries if e.source == LEARNT])
    profile.levers = choice.as_report()
    return choice


def pick(results: dict[Setting, Measured], today: Measured, clusters: Sequence[str],
         weights: Sequence[float] | None = None) -> tuple[Setting, Evidence, dict[str, Any]]:
    """The setting to keep, its evidence against `today`, and the best one passed over.

    The best setting wins (of those within `TIE` of it, the one that changes least). When
    it holds the new model and its gain could be noise (the lower bound at or below zero),
    the best setting that keeps today's model is tried instead, and must clear
    `STEP_DOWN_CONFIDENCE`: the fine-tuned model is the big change, and a fusion or a
    vocabulary that surely helps need not wait for it. `clusters` are the questions'
    rewording groups, drawn together by the bootstrap; `weights` how many asked questions
    each counts for.
    """
    def best(among: list[Setting]) -> Setting:
        top = max(results[s].scores.ndcg_at_10 for s in among)
        return min((s for s in among if results[s].scores.ndcg_at_10 >= top - TIE),
                   key=lambda s: (s.changes, -results[s].scores.ndcg_at_10))

    def against_today(setting: Setting, confidence: float = CONFIDENCE) -> Evidence:
        return paired_bootstrap(today.per_question, results[setting].per_question,
                                clusters=clusters, weights=weights, confidence=confidence)

    setting = best(list(results))
    evidence = against_today(setting)
    if setting.model == "active" or evidence.low > 0:
        return setting, evidence, {}
    smaller = best([s for s in results if s.model == "active"])
    surer = against_today(smaller, STEP_DOWN_CONFIDENCE)
    if surer.low <= 0:
        return setting, evidence, {}
    return smaller, surer, {"described": setting.describe(), "evidence": evidence.as_dict()}


def _tried(results: dict[Setting, Measured], shown: int = 8) -> dict[str, float]:
    """The best few settings and their nDCG@10; of settings that score the same (a memory
    no question comes close to), the one that changes least stands for them."""
    tried: dict[str, float] = {}
    for setting, measured in sorted(results.items(),
                                    key=lambda item: (-item[1].scores.ndcg_at_10, item[0].changes)):
        score = round(measured.scores.ndcg_at_10, 4)
        if score not in tried.values():
            tried[setting.describe()] = score
        if len(tried) == shown:
            break
    return tried


def _contributions(setting: Setting, results: dict[Setting, Measured]) -> dict[str, float]:
    """nDCG@10 the chosen setting loses when one lever goes back to plain."""
    plain = {"model": replace(setting, model="active"), "vocabulary": replace(setting, vocabulary=False),
             "memory": replace(setting, memory=0.0),
             "fusion": replace(setting, dense=1.0, bm25=1.0, unfamiliar=None)}
    best = results[setting].scores.ndcg_at_10
    return {lever: round(best - results[other].scores.ndcg_at_10, 4)
            for lever, other in plain.items() if other != setting and other in results}
