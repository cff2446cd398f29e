"""Judging the fine-tuned model on every rated question: cross-fitting.

The held-out slice is one rated question's group in five: after three rounds of the
jargon benchmark, 46 questions in 12 groups. That is too few to tell a better model
from luck: a model that lifts 55 new slang questions' MRR@10 by +0.13 (dense) fell by
0.06 nDCG@10 on those 12 groups (docs/benchmarks.md, "Cross-fitting the model").

So the candidate is trained in two halves. The rated training questions are split in two
(one question asked four ways stays in one half; different questions about one page, or
sharing a word the documents rarely use, are dealt to both: `halves_of`). One model per
half learns from every example but that half's (every FAQ and glossary pair included),
and each half's questions are answered by the model that never saw them: every rated
question judges the model lever, not only the held-out slice. The candidate that
answers is the base plus both halves' lessons (each half's weights minus the base's,
added: `combine`), so cross-fitting costs no more training than one model: each half
trains for half the steps within half the time budget, and the sum of the two moves
stands for the one model that would have taken all the steps on all the ratings. Each
half judges at the strength the candidate is served at (its lesson doubled:
`at_served_strength`).

Each half's model answers its questions over a pool (the active model's top documents
for them, plus their rated ones; at most `MAX_JUDGED` questions a half), so judging it
costs the pool's chunk embeddings, not the whole corpus's.

Example:
    >>> halves = train_halves(base, mined.examples, halves_of(questions), config, work_dir=tmp)
    >>> candidate = combine([half.result.model for half in halves], base_state_dict(base))
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.querysets import QuerySet, normalise_question, rewording_groups
from engine.learning import training
from engine.learning.expansions import LearningCorpus
from engine.learning.mining import TrainingExample
from engine.learning.sides import Answers, ModelSide, question_lists, rated_memory
from engine.learning.training import TrainingConfig, TrainingResult
from engine.learning.trainingdata import RatedQuestion, stable_fraction
from engine.search.lexical import Bm25
from engine.search.vocabulary import Vocabulary

HALVES = 2
MIN_HALF = 8
"""Rated questions each half needs before the candidate is trained in halves."""
MAX_JUDGED = 200
"""Rated questions of a half judged by its model at most (a stable sample): each brings
its top documents into the pool the half's model embeds."""


def fold_of(group: str, folds: int, salt: str = "fold") -> int:
    """The fold of a rewordings' group: a question asked four ways must not vouch for itself."""
    return min(folds - 1, int(stable_fraction(salt, group) * folds))


def cross_checkable(question: RatedQuestion, known: set[str], seen: frozenset[str]) -> bool:
    """Whether a rated question can judge a cycle's levers: rated in Slack (not an FAQ or
    glossary pair), with a 👍 on an indexed page, and not one the active version learnt
    from (`seen`: its model would recall the page)."""
    return question.source == "rating" and bool(set(question.positives) & known) and question.key not in seen


def halves_of(questions: Sequence[RatedQuestion],
              rare: Mapping[str, Iterable[str]] | None = None) -> dict[str, int]:
    """Rated question key → its half (0 or 1); empty when a half would hold fewer than
    `MIN_HALF` questions (then one model is trained, as before).

    A question's rewordings stay in one half. Different questions about one page, and
    different questions sharing a word the documents rarely use (`rare`: question key →
    its rare words, from `rare_words`; the team's own words, "tollbooth"), are dealt to
    the halves in turn, as cards are: each half's model has then heard the team's word
    and seen the page that most questions it is judged on need, as the served model has
    when a new question comes. (Split by a
    hash alone, a page's two questions fall in one half as often as not, and that half's
    model has never heard the team's word for the page: the reading then depends on the
    luck of the split.) Each group goes to the half that holds fewer of its page and rare
    words so far (each weighed by one over the number of groups that have it: a word in
    every question tells nothing), the smaller half on a tie, and to the smaller half
    whenever the halves would otherwise drift two groups apart.
    """
    rated = {q.key: q.positives for q in questions if q.source == "rating" and q.positives}
    groups = rewording_groups(rated)
    members: dict[str, list[str]] = {}
    for key, group in groups.items():
        members.setdefault(group, []).append(key)
    page = {group: min(rated[group], key=lambda doc: (-rated[group][doc], doc)) for group in members}
    marks = {group: {f"page {page[group]}"}
             | {f"word {w}" for key in keys for w in (rare or {}).get(key, ())}
             for group, keys in members.items()}
    spread = Counter(m for group_marks in marks.values() for m in group_marks)
    dealt = sorted(members, key=lambda g: (stable_fraction("half", page[g]), stable_fraction("half", g)))
    seen: list[Counter[str]] = [Counter() for _ in range(HALVES)]
    size = [0] * HALVES
    half_of_group: dict[str, int] = {}
    for group in dealt:
        smaller = min(range(HALVES), key=lambda h: size[h])
        if max(size) - min(size) >= 2:
            chosen = smaller
        else:
            chosen = min(range(HALVES), key=lambda h: (sum(seen[h][m] / spread[m] for m in marks[group]),
                                                       size[h], h != smaller))
        half_of_group[group] = chosen
        seen[chosen].update(marks[group])
        size[chosen] += 1
    half = {key: half_of_group[groups[key]] for key in rated}
    sizes = [sum(1 for h in half.values() if h == n) for n in range(HALVES)]
    return half if min(sizes) >= MIN_HALF else {}


def rare_words(questions: Sequence[RatedQuestion], documents: LearningCorpus) -> dict[str, frozenset[str]]:
    """Rated question key → its words that at most `MAX_DF_SHARE` of the documents use (none
    at all included: the vocabulary learner's rare words), leaving aside how people ask
    ("anyone", "quick")."""
    from engine.learning.vocabulary import MAX_DF_SHARE
    from engine.search.tokens import QUESTION_WORDS, tokenize

    limit = MAX_DF_SHARE * len(documents)
    return {q.key: frozenset(w for w in set(tokenize(q.key)) - QUESTION_WORDS if documents.df((w,)) <= limit)
            for q in questions if q.source == "rating"}


@dataclass(frozen=True)
class Half:
    """One half's model and the rated questions it never saw (the ones it judges)."""

    result: TrainingResult
    unseen: frozenset[str]
    """Normalised texts of the rated questions left out of its training."""


def train_halves(base: str, examples: Sequence[TrainingExample], halves: Mapping[str, int],
                 config: TrainingConfig, *, work_dir: Path,
                 progress: Callable[[str], None] | None = None, **prompts: str) -> list[Half]:
    """One model per half, each trained on every example but its half's rated questions,
    for half the steps and half the time budget."""
    share = replace(config, min_steps=math.ceil(config.min_steps / HALVES),
                    max_seconds=config.max_seconds / HALVES)
    trained = []
    for half in range(HALVES):
        unseen = frozenset(key for key, h in halves.items() if h == half)
        kept = [e for e in examples if normalise_question(e.anchor) not in unseen]
        if progress is not None:
            progress(f"  half {half + 1} of {HALVES}: {len(kept)} examples, "
                     f"{len(unseen)} rated questions left out to judge it on")
        result = training.fine_tune(base, kept, share, work_dir=work_dir / f"half{half}",
                           progress=progress, **prompts)
        trained.append(Half(result, unseen))
    return trained


def at_served_strength(halves: Sequence[Half], base_state: Mapping[str, Any],
                       alpha: float = 1.0) -> list[tuple[frozenset[str], Any]]:
    """Each half's model as it judges its unseen questions: its lesson counted once per
    half, as the served candidate (`combine`, blended at `alpha`) moves by all of them.
    A half alone moves half as far as the model that will answer, so its dense list is
    weaker than the served one's (docs/learning.md, "A gate that needs evidence", has what it
    changed on the jargon benchmark)."""
    return [(half.unseen, training.blend(half.result.model, base_state, alpha * len(halves)))
            for half in halves]


def combine(models: Sequence[Any], base_state: Mapping[str, Any]) -> Any:
    """A copy of the first model whose weights are the base's plus every model's lesson
    (its weights minus the base's): the sum of what the halves learnt, not their mean.

    Each half took half the steps on its share of the ratings; to first order, one model
    trained on all of them moves by the sum of the two moves, and the mean (a "model
    soup") moves half as far. On the Debian jargon benchmark's first round the sum lifts
    held-out slang to 0.411 MRR@10 (hybrid) where the mean reaches 0.335 and one model
    trained on everything 0.385 (docs/benchmarks.md, "The halves' lessons added").
    A weight the base lacks (or shaped otherwise) is averaged."""
    import torch

    mean = copy.deepcopy(models[0])
    states = [m.state_dict() for m in models]
    with torch.no_grad():
        for name, tensor in mean.state_dict().items():
            if tensor.is_floating_point():
                tensor.copy_(sum(state[name] for state in states) / len(states))
    # base + Σ(model − base) = base + n × (mean − base): blending the mean n times as far.
    return training.blend(mean, base_state, float(len(models)))


def train_combined(base: str, examples: Sequence[TrainingExample], halves: Mapping[str, int],
                   config: TrainingConfig, base_state: Mapping[str, Any], *, work_dir: Path,
                   progress: Callable[[str], None] | None = None, **prompts: str) -> tuple[list[Half], Any]:
    """The cross-fitted candidate: both halves trained (`train_halves`) and their lessons
    added (`combine`); returns the halves (they judge) and the combined model."""
    trained = train_halves(base, examples, halves, config, work_dir=work_dir, progress=progress, **prompts)
    return trained, combine([half.result.model for half in trained], base_state)


def answers_by_halves(corpus: EvalCorpus, asked: QuerySet, keys: list[str],
                      halves: Sequence[tuple[frozenset[str], ModelSide]], fallback: ModelSide,
                      expand: Vocabulary, others: Sequence[RatedQuestion], threshold: float,
                      bm25: Bm25, weights: Mapping[str, float] | None = None) -> Answers:
    """`asked` answered question by question by the half's model that never saw it (by
    `fallback` where none), each with the memory of `others` embedded by that model
    (`engine.learning.levers` judges the candidate with them)."""
    owners = [next((side for unseen, side in halves if key in unseen), fallback) for key in keys]
    lists: list[list[list[str]]] = [[] for _ in keys]
    for side in {id(owner): owner for owner in owners}.values():
        rows = [i for i, owner in enumerate(owners) if owner is side]
        some = QuerySet([asked.queries[i] for i in rows])
        memory = rated_memory(side, expand, others, threshold)
        found = question_lists(corpus, some, side, expand, memory, bm25)
        for i, ranked in zip(rows, found, strict=True):
            lists[i] = ranked
    return Answers.of(asked, lists, bm25, weights)
