"""Learning the team's vocabulary from ratings: words in questions that the documents
do not use, tied to the words of the documents people chose for them.

A *term* is a word or a phrase of up to three words (`engine.search.tokens`: CJK text
counts in character bigrams) that
1. occurs in at least `min_evidence` different rated training questions whose 👍
   document does not contain it (the mismatch that retrieval cannot bridge; rewordings of
   one question, `engine.evaluation.querysets.rewording_groups`, count once: a word of
   one question that its page lacks says nothing about the team's words; and a question
   asked in several wordings counts only if two of them use the term: a word of one
   wording, "I keep *hearing* this", is how that person asks), and
2. is rare in the corpus, and so are its first and last words: in at most
   `max_df_share` of the documents ("crystal ball", not "crystal ball service"), and not how
   people ask: in at most `MAX_QUESTION_SHARE` of the rated questions, and not only
   question words ("how do", "what is").
A longer term wins over the words inside it when it explains the same questions.

Its *expansion* is the words of the chosen documents that best stand for it: phrases
(one or two words) found in the 👍 documents of most of the term's questions and
seldom in those of other rated questions; of those that lift the chosen documents in
BM25 when added to the term's questions, the expansion kept is the one (or the pair)
with the best lift × (1 + recurrence), where recurrence is how often the phrase keeps the
company of the questions' other words elsewhere in the corpus (`_recurrence`: the word the
slang stands for recurs, the words that single out one page do not). A term whose best
expansion lifts nothing is not learnt.

`/argot define` entries (`defined/...` documents, `engine.search.vocabulary.defined_entries`)
give their term → the first words of their definition. Rejected terms (`argot glossary
reject`) are never learnt again. The cycle then keeps the vocabulary only if held-out
questions improve with it (`engine.learning.levers`).

Tip:
    `min_evidence=2` learns a term from two questions, which a wrong one needs too:
    the held-out gate and `argot glossary reject` are the safety net.

Example:
    >>> vocabulary = learn_vocabulary(training_questions, corpus.document_texts())
    >>> vocabulary.entries[0].describe()
    'tollbooth → api gateway (7 questions)'
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from engine.evaluation.querysets import rewording_groups
from engine.learning.trainingdata import RatedQuestion
from engine.search.tokens import CJK_RUN, QUESTION_WORDS, tokenize
from engine.search.vocabulary import LEARNT, GlossaryEntry, Vocabulary

MAX_TERM_WORDS = 3
MIN_GAIN = 0.05
"""Mean reciprocal-rank gain (BM25, the term's own questions) an expansion must bring."""
MAX_QUESTION_SHARE = 0.3
"""A term in more of the rated questions than this is how people ask, not what about."""
CANDIDATE_EXPANSIONS = 20


@dataclass(frozen=True)
class _Question:
    text: str
    tokens: tuple[str, ...]
    positives: tuple[int, ...]
    """Rows of the 👍 documents."""
    group: str = ""
    """Its rewordings' group (`rewording_groups`): one question asked four ways is one
    piece of evidence, not four."""


class _Corpus:
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
        self.model = bm25s.BM25()
        self.model.index(self.tokens, show_progress=False)
        self.vocab = self.model.vocab_dict

    def __len__(self) -> int:
        return len(self.doc_ids)

    def contains(self, row: int, phrase: tuple[str, ...]) -> bool:
        if len(phrase) == 1:
            return phrase[0] in self.sets[row]
        if not set(phrase) <= self.sets[row]:
            return False
        tokens, n = self.tokens[row], len(phrase)
        return any(tuple(tokens[i:i + n]) == phrase for i in range(len(tokens) - n + 1))

    def df(self, phrase: tuple[str, ...]) -> int:
        rows = self.postings.get(phrase[0], [])
        return len(rows) if len(phrase) == 1 else sum(1 for r in rows if self.contains(r, phrase))

    def reciprocal_rank(self, tokens: Sequence[str], positives: Sequence[int]) -> float:
        known = [t for t in tokens if t in self.vocab]
        if not known:
            return 0.0
        scores = np.asarray(self.model.get_scores(known), dtype=np.float32)
        best = max(float(scores[row]) for row in positives)
        if best <= 0:
            return 0.0
        return 1.0 / (1 + int((scores > best).sum()))


def learn_vocabulary(questions: Sequence[RatedQuestion], documents: Mapping[str, str], *,
                     rejected: Iterable[str] = (), min_evidence: int = 2,
                     max_df_share: float = 0.02, defined: Iterable[GlossaryEntry] = ()
                     ) -> Vocabulary:
    """The learnt glossary (and the defined entries) from the training questions.

    Args:
        questions: rated training questions (held-out ones must not be among them).
        documents: doc_id → text of every indexed document.
        rejected: terms people rejected; never learnt.
        min_evidence: rated questions a term needs.
        max_df_share: a term in more of the documents than this is the corpus's own word.
        defined: entries from `/argot define` (`defined_entries`), kept unless rejected.

    Returns:
        The `Vocabulary`: learnt entries, most evidence first, then the defined ones.
    """
    corpus = _Corpus(documents)
    row_of = {doc_id: row for row, doc_id in enumerate(corpus.doc_ids)}
    rated_questions = [q for q in questions if q.source == "rating" and q.positives]
    groups = rewording_groups({q.key: q.positives for q in rated_questions})
    rated = [_Question(q.text, tuple(tokenize(q.text)),
                       tuple(row_of[d] for d in sorted(q.positives, key=lambda d: -q.positives[d])
                             if d in row_of), groups[q.key])
             for q in rated_questions]
    rated = [q for q in rated if q.positives and q.tokens]
    refused = {tuple(tokenize(term)) for term in rejected}
    support = _mismatched_terms(rated, corpus, max_df_share, min_evidence, refused)
    scored = []
    for term, members in support:
        asked = [rated[i] for i in sorted(members)]
        others = [q for i, q in enumerate(rated) if i not in members]
        found = _best_expansion(asked, others, corpus)
        if found is not None and _generalises(asked, others, corpus):
            scored.append((found[1], term, members, found[0]))
    # The terms that lift their questions most claim their words first: "night owls"
    # and "owls who do" cannot both explain the same question. A term goes no later than
    # the words inside it: "money crew" and "wrench crew" are two teams, not one "crew".
    rank = {term: min(lift for lift, other, _, _ in scored if _inside(term, other))
            for _, term, _, _ in scored}
    claimed: dict[int, set[str]] = defaultdict(set)
    learnt: list[GlossaryEntry] = []
    for _, term, members, expansion in sorted(scored, key=lambda item: (
            -round(rank[item[1]], 6), -len(item[1]), -round(item[0], 6), -len(item[2]), item[1])):
        free = sorted(i for i in members if not set(term) & claimed[i])
        if _evidence(rated, free) < min_evidence:
            continue
        for i in free:
            claimed[i] |= set(term)
        chosen = [rated[i] for i in free]
        learnt.append(GlossaryEntry(
            join_tokens(term), " ".join(join_tokens(p) for p in expansion), _evidence(rated, free), LEARNT,
            tuple(q.text for q in chosen[:3]),
            tuple(dict.fromkeys(corpus.doc_ids[q.positives[0]] for q in chosen))[:5]))
    learnt.sort(key=lambda e: (-e.evidence, e.term))
    kept_defined = [e for e in defined if e.tokens not in refused]
    return Vocabulary(learnt + kept_defined)


def _mismatched_terms(rated: list[_Question], corpus: _Corpus, max_df_share: float,
                      min_evidence: int, refused: set[tuple[str, ...]]
                      ) -> list[tuple[tuple[str, ...], set[int]]]:
    """(term, the questions it is the mismatch in), longest terms first."""
    limit = max(1, int(max_df_share * len(corpus)))
    asked = len({q.group for q in rated})
    wordings = Counter(q.group for q in rated)
    members: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for index, question in enumerate(rated):
        tokens = question.tokens
        for n in range(1, MAX_TERM_WORDS + 1):
            for start in range(len(tokens) - n + 1):
                members[tokens[start:start + n]].add(index)
    found: list[tuple[tuple[str, ...], set[int]]] = []
    for term, questions in sorted(members.items(), key=lambda item: (-len(item[0]), item[0])):
        if _evidence(rated, questions) < min_evidence or term in refused or set(term) <= QUESTION_WORDS:
            continue
        if term[0] in QUESTION_WORDS or term[-1] in QUESTION_WORDS:
            continue  # "does tollbooth do" is "tollbooth" asked
        if _evidence(rated, questions) > max(5, MAX_QUESTION_SHARE * asked):
            continue
        if corpus.df(term) > limit or not _names_something(term, members, rated, corpus, limit, min_evidence):
            continue
        unmatched = {i for i in questions
                     if not any(corpus.contains(row, term) for row in rated[i].positives)}
        having = Counter(rated[i].group for i in unmatched)
        said = {i for i in unmatched if having[rated[i].group] >= min(2, wordings[rated[i].group])}
        if _evidence(rated, said) >= min_evidence:
            found.append((term, said))
    return found


def _names_something(term: tuple[str, ...], members: Mapping[tuple[str, ...], set[int]],
                     rated: Sequence[_Question], corpus: _Corpus, limit: int,
                     min_evidence: int) -> bool:
    """Whether a term's first and last words belong to it. A common word at its edge is
    context ("crystal ball service" is "crystal ball" asked about a service), unless the
    rest is only ever said in such pairs: "money crew", "price crew" and "wrench crew"
    are three teams, and "crew" alone means none of them."""
    start, end = 0, len(term)
    while start < end and corpus.df(term[start:start + 1]) > limit:
        start += 1
    while end > start and corpus.df(term[end - 1:end]) > limit:
        end -= 1
    core = term[start:end]
    if core == term:
        return True
    if not core or len(term) - len(core) > 1 or corpus.df(core) > limit or core not in members:
        return False
    pairs = [other for other in members if len(other) == len(term) and _inside(core, other)
             and (other[1:] == core or other[:-1] == core)
             and _evidence(rated, members[other]) >= min_evidence]
    covered = {rated[i].group for other in pairs for i in members[other]}
    return len(pairs) >= 2 and len(covered) >= 0.8 * _evidence(rated, members[core])


def _inside(term: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether `term` is `other` or a run of words in it."""
    n = len(term)
    return any(other[i:i + n] == term for i in range(len(other) - n + 1))


def _evidence(rated: Sequence[_Question], members: Iterable[int]) -> int:
    """How many different questions (groups of rewordings) `members` are."""
    return len({rated[i].group for i in members})


def _best_expansion(members: list[_Question], others: list[_Question], corpus: _Corpus
                    ) -> tuple[tuple[tuple[str, ...], ...], float] | None:
    """The phrase (or two) that best lifts the members' chosen documents in BM25, and the
    mean reciprocal-rank gain it brings; None when nothing lifts them by `MIN_GAIN` with
    more questions helped than hurt (twice over)."""
    candidates = _candidate_phrases(members, others, corpus)
    if not candidates:
        return None
    before = [corpus.reciprocal_rank(q.tokens, q.positives) for q in members]

    def ranks(phrases: tuple[tuple[str, ...], ...]) -> list[float]:
        extra = [token for phrase in phrases for token in phrase]
        return [corpus.reciprocal_rank([*q.tokens, *extra], q.positives) for q in members]

    def lift(phrases: tuple[tuple[str, ...], ...]) -> float:
        return sum(ranks(phrases))

    baseline = sum(before)
    lifted = [(score, p) for score, p in ((lift((p,)), p) for p in candidates) if score > baseline]
    if not lifted:
        return None
    recurs = _recurrence(members, corpus)
    named = _titled(members, corpus)
    scored = sorted(lifted, key=lambda item: -item[0] * (1.0 + recurs(item[1])) * (1.0 + named(item[1])))
    best_score, best = scored[0][0], (scored[0][1],)
    for score, phrase in scored[1:4]:
        pair = (*best, phrase)
        if score > baseline and not set(phrase) & set(best[0]):
            pair_score = lift(pair)
            if pair_score > best_score:
                best_score, best = pair_score, pair
            break
    after = ranks(best)
    helped = sum(a > b + 1e-9 for a, b in zip(after, before, strict=True))
    hurt = sum(a < b - 1e-9 for a, b in zip(after, before, strict=True))
    gain = (best_score - baseline) / len(members)
    if gain < MIN_GAIN or helped < 2 * hurt or not helped:
        return None
    return best, gain


def _generalises(members: list[_Question], others: list[_Question], corpus: _Corpus) -> bool:
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
        found = _best_expansion([q for q in members if q.group != group], others, corpus)
        extra = [token for phrase in found[0] for token in phrase] if found else []
        change = sum(corpus.reciprocal_rank([*q.tokens, *extra], q.positives) - before[q]
                     for q in asked)
        helped += change > 1e-9
        hurt += change < -1e-9
    return helped >= hurt


def _titled(members: list[_Question], corpus: _Corpus) -> Callable[[tuple[str, ...]], float]:
    """The share of the members' questions whose chosen document names the phrase in its
    title or heading: a page is titled with what it is about ("Pursers")."""
    def share(phrase: tuple[str, ...]) -> float:
        return sum(any(set(phrase) <= corpus.titles[row] for row in q.positives)
                   for q in members) / len(members)

    return share


def _recurrence(members: list[_Question], corpus: _Corpus) -> Callable[[tuple[str, ...]], float]:
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


def _candidate_phrases(members: list[_Question], others: list[_Question], corpus: _Corpus
                       ) -> list[tuple[str, ...]]:
    """Phrases of the chosen documents, by how many of the term's questions they cover
    against how often other rated questions' documents hold them."""
    def phrases_of(question: _Question) -> set[tuple[str, ...]]:
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


def join_tokens(tokens: Sequence[str]) -> str:
    """Tokens back into text: CJK bigrams overlap ("网关", "关配" → "网关配"), words take spaces."""
    text = ""
    previous = ""
    for token in tokens:
        cjk = CJK_RUN.fullmatch(token) is not None
        if cjk and CJK_RUN.fullmatch(previous or "x") and len(token) == 2 and previous[-1:] == token[:1]:
            text += token[1:]
        else:
            text += ("" if not text or (cjk and CJK_RUN.fullmatch(previous or "x")) else " ") + token
        previous = token
    return text



