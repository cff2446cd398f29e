"""From ratings (and imported pairs) to labelled questions the trainer can learn from.

A 👍 makes (question, document) a positive; a 👎 an explicit negative. When someone
rejects the best match and then rates an alternative 👍, every other document shown for
that question is a negative too ("passed over"). Votes are aggregated per (question,
document) across people, a question being its normalised wording, so the same question
asked twice is one question. A pair with both 👍 and 👎 is a conflict and becomes no
label at all.

One person cannot dominate: a voter's votes weigh `min(1, cap / votes_by_them)`, the
cap being `max(voter_cap, dominance × the median voter's count)`, so someone who rates
ten times more than a typical colleague weighs as much as five of them, not ten. A
positive resting on less than one full vote is kept with a probability equal to its
weight (a stable hash, so the same label is kept or dropped on every run).

Who answered counts too: a question whose 👍 pages were all named in a reply ("the right
page is …"), none of them shown, is one today's answers missed (`RatedQuestion.unshown`).
Judging a candidate on rated questions leaves out the missed questions nobody replied
to, so `Ratings.judging_weights` counts each replied one for them as well.

Other sources: pairs stored by FAQ import and `/argot define` (`FeedbackStore.training_pairs`),
plus those the index itself holds: each glossary entry gives "what is TERM?" → the entry,
each FAQ section whose heading is a question gives that question → its answer.

Tip:
    Defaults fit a team of 5-50 people: `voter_cap=20` lets anyone's first twenty
    ratings count fully; `dominance=5` caps the keenest rater at five typical ones.

Example:
    >>> ratings = gather_ratings(store)
    >>> ratings.questions[0].positives
    {'glossary/rlq': 1.0}
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.evaluation.querysets import held_out, held_out_questions, normalise_question
from engine.feedback import FeedbackStore
from engine.types import Chunk

VOTER_CAP = 20
DOMINANCE = 5.0
MAX_REPLY_WEIGHT = 4.0
"""The most asked questions one replied question counts for when judging."""
GLOSSARY_KINDS = {"glossary", "definition", "term"}


@dataclass
class RatedQuestion:
    """One question (however often asked) with what people said about its documents."""

    text: str
    positives: dict[str, float] = field(default_factory=dict)
    """doc_id → weight (sum of capped voter weights)."""
    negatives: dict[str, float] = field(default_factory=dict)
    """doc_id → weight, from explicit 👎."""
    passed_over: set[str] = field(default_factory=set)
    """Shown documents passed over for an alternative someone rated 👍."""
    source: str = "rating"
    chunk_position: int | None = None
    """For a FAQ section: which chunk of the positive document is the answer."""
    unshown: bool = False
    """Its 👍 pages were named in a reply, none of them shown: today's answers missed it."""

    @property
    def key(self) -> str:
        return normalise_question(self.text)


@dataclass
class Ratings:
    """Everything the feedback store says, aggregated; counts are for the report."""

    questions: list[RatedQuestion]
    votes: int = 0
    voters: int = 0
    conflicts: int = 0
    capped_voters: list[str] = field(default_factory=list)
    thinned: int = 0
    """Positives left out because they rested on less than one full (capped) vote."""

    def judging_weights(self, cap: float = MAX_REPLY_WEIGHT) -> dict[str, float]:
        """Rated question key → how many asked questions it counts for when judging (1
        when not listed).

        The questions a cycle judges on are those with a 👍 page, and most have one because
        today's answers showed it; of the questions today's answers missed, only those
        someone replied to with the right page are there. Judged as they come, settings
        close to today's look better than they are (on the Debian jargon benchmark, the
        questions the base showed right prefer BM25 in the fusion and the missed ones
        dense alone; docs/benchmarks.md). So each replied question counts for itself and
        its share of the missed ones left unanswered (👎 only): (replied + unanswered) /
        replied, at most `cap`: inverse-probability weighting, the reply rate being the
        same for every missed question."""
        rated = [q for q in self.questions if q.source == "rating"]
        replied = [q.key for q in rated if q.unshown]
        unanswered = sum(1 for q in rated if q.negatives and not q.positives)
        if not replied or not unanswered:
            return {}
        weight = round(min(cap, (len(replied) + unanswered) / len(replied)), 4)
        return dict.fromkeys(replied, weight)

    def split(self) -> tuple[list[RatedQuestion], list[RatedQuestion]]:
        """(training, held out): the held-out slice never reaches the trainer, nor does
        any rewording of a held-out question (`held_out_questions`)."""
        kept_out = held_out_questions({q.key: q.positives.keys() for q in self.questions})
        return ([q for q in self.questions if q.key not in kept_out],
                [q for q in self.questions if q.key in kept_out])


def gather_ratings(store: FeedbackStore, *, voter_cap: int = VOTER_CAP,
                   dominance: float = DOMINANCE) -> Ratings:
    """Aggregate every text vote in the store into rated questions.

    Args:
        store: the feedback store.
        voter_cap: judgements anyone can give before their votes may start to weigh less.
        dominance: how many typical (median) voters one person can weigh at most.

    Returns:
        `Ratings`; questions with neither a positive nor a negative are left out.
    """
    # (question key, doc) → user → (value, at); a person's latest vote counts when they
    # asked the same question twice.
    judged: dict[tuple[str, str], dict[str, tuple[int, float]]] = defaultdict(dict)
    wording: dict[str, str] = {}
    shown_up: set[str] = set()  # questions with a 👍 on a document shown for them
    per_query: dict[str, list[dict[str, Any]]] = defaultdict(list)
    votes = 0
    for row in store.export():
        if row.get("modality", "text") != "text":
            continue
        votes += 1
        key = normalise_question(row["question"])
        wording.setdefault(key, " ".join(row["question"].split()))
        previous = judged[(key, row["doc_id"])].get(row["user"])
        if previous is None or previous[1] <= row["at"]:
            judged[(key, row["doc_id"])][row["user"]] = (int(row["vote"]), float(row["at"]))
        per_query[row["query_id"]].append(row)
        if int(row["vote"]) > 0 and row.get("rank") is not None:
            shown_up.add(key)

    per_voter: dict[str, int] = defaultdict(int)
    for users in judged.values():
        for user in users:
            per_voter[user] += 1
    counts = sorted(per_voter.values())
    median = counts[len(counts) // 2] if counts else 0
    cap = max(float(voter_cap), dominance * median)
    weight = {user: min(1.0, cap / count) for user, count in per_voter.items()}

    questions: dict[str, RatedQuestion] = {}
    conflicts = thinned = 0
    for (key, doc_id), users in judged.items():
        up = sum(weight[u] for u, (value, _) in users.items() if value > 0)
        down = sum(weight[u] for u, (value, _) in users.items() if value < 0)
        if up and down:
            conflicts += 1
            continue
        question = questions.setdefault(key, RatedQuestion(wording[key]))
        if up:
            if up >= 1.0 or stable_fraction(key, doc_id) < up:
                question.positives[doc_id] = up
            else:
                thinned += 1
        else:
            question.negatives[doc_id] = down

    for query_id, rows in per_query.items():
        passed = passed_over(store, query_id, rows)
        if passed:
            key = normalise_question(rows[0]["question"])
            if key in questions:
                questions[key].passed_over |= passed
    for key, question in questions.items():
        question.passed_over -= set(question.positives)
        question.passed_over -= set(question.negatives)
        question.unshown = bool(question.positives) and key not in shown_up
    kept = [q for q in questions.values() if q.positives or q.negatives]
    return Ratings(kept, votes=votes, voters=len(per_voter), conflicts=conflicts,
                   capped_voters=sorted(u for u, w in weight.items() if w < 1.0), thinned=thinned)


def passed_over(store: FeedbackStore, query_id: str, rows: list[dict[str, Any]]) -> set[str]:
    """Documents shown for a question whose best match someone rejected before rating an
    alternative 👍: the rest of what was shown was looked at and not chosen."""
    ranks = [r["rank"] for r in rows if r.get("rank") is not None]
    if not ranks:
        return set()
    shown = store.shown_for(query_id)
    if not shown:
        return set()
    best = min(answer.rank for answer in shown)
    chosen: set[str] = set()
    for user in {r["user"] for r in rows}:
        mine = [r for r in rows if r["user"] == user]
        rejected = [r["at"] for r in mine if r["vote"] < 0 and r.get("rank") == best]
        if rejected:
            chosen |= {r["doc_id"] for r in mine
                       if r["vote"] > 0 and (r.get("rank") or 0) > best and r["at"] >= min(rejected)}
    if not chosen:
        return set()
    return {answer.doc_id for answer in shown} - chosen


def stable_fraction(*parts: str) -> float:
    """A number in [0, 1) fixed by its inputs: the same on every run and machine."""
    digest = hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000


# -- other sources: imported pairs, the glossary and FAQ sections in the index ------------


def stored_pairs(store: FeedbackStore) -> list[RatedQuestion]:
    """Pairs from FAQ import, `/argot define` and synthetic questions, as labelled questions."""
    questions: dict[tuple[str, str], RatedQuestion] = {}
    for pair in store.training_pairs():
        question = questions.setdefault((pair.source, normalise_question(pair.anchor)),
                                        RatedQuestion(" ".join(pair.anchor.split()),
                                                      source=pair.source))
        question.positives[pair.positive] = 1.0
        for negative in pair.negatives:
            if negative != pair.positive:
                question.negatives[negative] = 1.0
    return list(questions.values())


def index_pairs(chunks: Iterable[tuple[Chunk, dict[str, Any]]]) -> list[RatedQuestion]:
    """Glossary entries ("what is TERM?" → the entry) and FAQ sections (heading → answer)."""
    found: dict[tuple[str, str], RatedQuestion] = {}
    glossary_seen: set[str] = set()
    for chunk, meta in chunks:
        if is_glossary(chunk, meta) and chunk.doc_id not in glossary_seen and chunk.title:
            glossary_seen.add(chunk.doc_id)
            term = chunk.title.strip().rstrip("?")
            question = RatedQuestion(f"what is {term}?", {chunk.doc_id: 1.0}, source="glossary")
            found.setdefault(("glossary", question.key), question)
        heading = chunk.heading.split(" > ")[-1].strip() if chunk.heading else ""
        if heading.endswith("?") and len(heading.split()) >= 3:
            question = RatedQuestion(heading, {chunk.doc_id: 1.0}, source="faq",
                                     chunk_position=chunk.position)
            found.setdefault(("faq", question.key), question)
    return list(found.values())


def is_glossary(chunk: Chunk, meta: dict[str, Any]) -> bool:
    kind = str(meta.get("m.kind") or meta.get("m.type") or "").lower()
    return kind in GLOSSARY_KINDS or chunk.doc_id.startswith("glossary/")


def training_set(rated: list[RatedQuestion], others: Iterable[RatedQuestion], *,
                 other_share: float = 1.0, other_min: int = 32) -> list[RatedQuestion]:
    """What a cycle trains on: the rated questions first, then a stable sample of the other
    sources (FAQ, glossary, synthetic), never a held-out wording.

    The other sources are at most `other_share` × the rated positives (at least
    `other_min`), so a large glossary does not drown the team's own ratings; synthetic
    questions are then capped at `SYNTHETIC_MAX_SHARE` of the whole set, however many
    were generated.
    """
    from engine.learning.synth import cap_synthetic_share

    pool = sorted((q for q in others if not held_out(q.text)),
                  key=lambda q: stable_fraction(q.source, q.key))
    limit = max(other_min, int(other_share * sum(len(q.positives) for q in rated)))
    chosen = pool[:limit]
    synthetic = [q for q in chosen if q.source == "synthetic"]
    real = merge_sources(rated, [q for q in chosen if q.source != "synthetic"])
    return merge_sources(real, cap_synthetic_share(real, synthetic))


def merge_sources(*groups: Iterable[RatedQuestion]) -> list[RatedQuestion]:
    """One labelled question per (wording, positive): earlier groups win (ratings first)."""
    seen: set[tuple[str, str]] = set()
    merged: list[RatedQuestion] = []
    for group in groups:
        for question in group:
            fresh = {d: w for d, w in question.positives.items() if (question.key, d) not in seen}
            if not fresh and question.positives:
                continue
            seen |= {(question.key, d) for d in fresh}
            question.positives = fresh
            merged.append(question)
    return merged
