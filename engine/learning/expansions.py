"""Choosing what a learnt term expands to: the words of the pages people chose for it.

`engine.learning.vocabulary` finds the terms (words of rated questions that the documents
do not use); this module picks each one's expansion, a phrase of the chosen documents,
and checks that it generalises. Everything is measured with a document-level BM25 over
the corpus (`LearningCorpus`), for learning only.

Example:
    >>> corpus = LearningCorpus(documents)
    >>> best_expansion(term_questions, other_questions, corpus)
    (('api', 'gateway'), 0.41)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.search.tokens import CJK_RUN, QUESTION_WORDS, tokenize

MIN_GAIN = 0.05
"""Mean reciprocal-rank gain (BM25, the term's own questions) an expansion must bring."""
CANDIDATE_EXPANSIONS = 20


@dataclass(frozen=True)
class Wording:
    """One rated wording of a question, as the learner reads it."""

    text: str
    tokens: tuple[str, ...]
    positives: tuple[int, ...]
    """Rows of the 👍 documents."""
    group: str = ""
    """Its rewordings' group (`rewording_groups`): one question asked four ways is one
    piece of evidence, not four."""


class LearningCorpus:
    """Document-level tokens, an inverted index and BM25, for learning only."""

    def __init__(self, documents: Mapping[str, str]) -> None:
        import bm25s

        self.doc_ids = list(documents)
        self.tokens = [tokenize(documents[d]) for d in self.doc_ids]
        self.sets = [set(tokens) for tokens in self.tokens]
        self.titles = [set(tokenize(documents[d].split("\n", 1)[0])) for d in self.doc_ids]
        """The first line's tokens: a chunk's text starts with its title and heading."""
        self.postings: dict[str, list[int]] = defaultdict(list)
        for row, present in enumerate(self.sets):
            for token in present:
                self.postings[token].append(row)
        self._rows_with: dict[tuple[str, ...], frozenset[int]] = {}
        self.model = bm25s.BM25()
        self.model.index(self.tokens, show_progress=False)
        self.vocab = self.model.vocab_dict

    def __len__(self) -> int:
        return len(self.doc_ids)

    def contains(self, row: int, phrase: tuple[str, ...]) -> bool:
        if len(phrase) == 1:
            return phrase[0] in self.sets[row]
        return row in self.rows_with(phrase)

    def df(self, phrase: tuple[str, ...]) -> int:
        return len(self.postings.get(phrase[0], [])) if len(phrase) == 1 else len(self.rows_with(phrase))

    def rows_with(self, phrase: tuple[str, ...]) -> frozenset[int]:
        """The documents holding a phrase of two words or more (found once, then kept:
        the learner asks about the same phrases for many questions and documents)."""
        found = self._rows_with.get(phrase)
        if found is None:
            words, n = set(phrase), len(phrase)

            def holds(tokens: list[str]) -> bool:
                return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))

            found = frozenset(row for row in self.postings.get(phrase[0], [])
                              if words <= self.sets[row] and holds(self.tokens[row]))
            self._rows_with[phrase] = found
        return found

    def reciprocal_rank(self, tokens: Sequence[str], positives: Sequence[int]) -> float:
        known = [t for t in tokens if t in self.vocab]
        if not known:
            return 0.0
        scores = np.asarray(self.model.get_scores(known), dtype=np.float32)
        best = max(float(scores[row]) for row in positives)
        if best <= 0:
            return 0.0
        return 1.0 / (1 + int((scores > best).sum()))


def best_expansion(members: list[Wording], others: list[Wording], corpus: LearningCorpus
                    ) -> tuple[tuple[str, ...], float] | None:
    """The phrase that best lifts the members' chosen documents in BM25, and the
    mean reciprocal-rank gain it brings; None when nothing lifts them by `MIN_GAIN` with
    more questions helped than hurt (twice over)."""
    candidates = _candidate_phrases(members, others, corpus)
    if not candidates:
        return None
    before = [corpus.reciprocal_rank(q.tokens, q.positives) for q in members]

    def ranks(phrase: tuple[str, ...]) -> list[float]:
        return [corpus.reciprocal_rank([*q.tokens, *phrase], q.positives) for q in members]

    def lift(phrase: tuple[str, ...]) -> float:
        return sum(ranks(phrase))

    baseline = sum(before)
    lifted = [(score, p) for score, p in ((lift(p), p) for p in candidates) if score > baseline]
    if not lifted:
        return None
    recurs = _recurrence(members, corpus)
    named = _titled(members, corpus)
    scored = sorted(lifted, key=lambda item: -item[0] * (1.0 + recurs(item[1])) * (1.0 + named(item[1])))
    best_score, best = scored[0]
    after = ranks(best)
    helped = sum(a > b + 1e-9 for a, b in zip(after, before, strict=True))
    hurt = sum(a < b - 1e-9 for a, b in zip(after, before, strict=True))
    gain = (best_score - baseline) / len(members)
    if gain < MIN_GAIN or helped < 2 * hurt or not helped:
        return None
    return best, gain


def generalises(members: list[Wording], others: list[Wording], corpus: LearningCorpus) -> bool:
    """Whether what the other questions teach about a term helps each question: for each
    question (its rewordings together) whose page BM25 does not already put first, the
    expansion learnt without it must lift that page at least as often as it sinks it.
    An expansion that only singles out the pages it was learnt from ("crew → platform
    infrastructure", from the wrench crew's questions, asked about the money crew) fails.
    A term of two questions passes: one question alone teaches too little to judge by."""
    groups = sorted({q.group for q in members})
    if len(groups) < 3:
        return True
    helped = hurt = 0
    for group in groups:
        before = {q: corpus.reciprocal_rank(q.tokens, q.positives)
                  for q in members if q.group == group}
        asked = [q for q, rank in before.items() if rank < 1.0]
        if not asked:
            continue  # its page comes first already: it says nothing about the term
        found = best_expansion([q for q in members if q.group != group], others, corpus)
        extra = list(found[0]) if found else []
        change = sum(corpus.reciprocal_rank([*q.tokens, *extra], q.positives) - before[q]
                     for q in asked)
        helped += change > 1e-9
        hurt += change < -1e-9
    return helped >= hurt


def _titled(members: list[Wording], corpus: LearningCorpus) -> Callable[[tuple[str, ...]], float]:
    """The share of the members' questions whose chosen document names the phrase in its
    title or heading: a page is titled with what it is about ("Pursers")."""
    def share(phrase: tuple[str, ...]) -> float:
        return sum(any(set(phrase) <= corpus.titles[row] for row in q.positives)
                   for q in members) / len(members)

    return share


def _recurrence(members: list[Wording], corpus: LearningCorpus) -> Callable[[tuple[str, ...]], float]:
    """How often a phrase keeps the company of the questions' own words in the rest of
    the corpus: of the documents holding it, other than the chosen ones, the share that
    also hold a word of the questions (0 when no other document holds it). The plain word the slang stands for
    ("deploy" for "yeet") recurs wherever what people ask about is written about; the
    words that single out the chosen page ("always allowed") do not."""
    chosen = {row for question in members for row in question.positives}
    context = {token for question in members for token in question.tokens
               if wordy(token) and corpus.postings.get(token)}

    def share(phrase: tuple[str, ...]) -> float:
        rows = [row for row in corpus.postings.get(phrase[0], [])
                if row not in chosen and corpus.contains(row, phrase)]
        return sum(1 for row in rows if context & corpus.sets[row]) / (len(rows) + 1)

    return share


def _candidate_phrases(members: list[Wording], others: list[Wording], corpus: LearningCorpus
                       ) -> list[tuple[str, ...]]:
    """Phrases of the chosen documents, by how many of the term's questions they cover
    against how often other rated questions' documents hold them."""
    def phrases_of(question: Wording) -> set[tuple[str, ...]]:
        found: set[tuple[str, ...]] = set()
        asked = set(question.tokens)
        for row in question.positives:
            tokens = corpus.tokens[row]
            found |= {(t,) for t in tokens if t not in asked and wordy(t)}
            found |= {(a, b) for a, b in zip(tokens, tokens[1:], strict=False)
                      if a != b and not {a, b} & asked and wordy(a) and wordy(b)}
        return found

    covered: dict[tuple[str, ...], int] = defaultdict(int)
    for question in members:
        for phrase in phrases_of(question):
            covered[phrase] += 1
    need = max(1, math.ceil(0.5 * len(members)))
    # A phrase found in only one of the chosen documents pinpoints that document; the
    # word the slang stands for is in most of them.
    documents = {row for q in members for row in q.positives[:1]}
    in_documents = {p: sum(1 for row in documents if corpus.contains(row, p)) for p in covered}
    need_documents = max(1, math.ceil(0.5 * len(documents)))
    common = {p: c for p, c in covered.items() if c >= need and in_documents[p] >= need_documents}
    background: dict[tuple[str, ...], int] = defaultdict(int)
    for question in others:
        present = phrases_of(question)
        for phrase in common:
            if phrase in present:
                background[phrase] += 1
    n, m = len(members), max(1, len(others))

    titled = _titled(members, corpus)

    def score(phrase: tuple[str, ...]) -> float:
        coverage, elsewhere = common[phrase] / n, background[phrase] / m
        idf = math.log((len(corpus) + 1) / (corpus.df(phrase) + 1))
        lift = max(0.0, math.log((coverage + 0.05) / (elsewhere + 0.05)))
        return coverage * lift * idf * (1.0 + 2.0 * titled(phrase))

    return sorted(common, key=lambda p: (-round(score(p), 9), -len(p), p))[:CANDIDATE_EXPANSIONS]


def wordy(token: str) -> bool:
    """A token that can stand for a meaning: letters (3 or more) or CJK, not a question word."""
    if CJK_RUN.fullmatch(token):
        return True
    return token.isalpha() and len(token) >= 3 and token not in QUESTION_WORDS
