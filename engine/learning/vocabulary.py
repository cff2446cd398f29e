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
   `max_df_share` of the documents ("crystal ball", not "crystal ball service"), and not only
   question words ("how do", "what is"). How often the rated questions use it does not
   count against it: the team's name for its own product is in most of them (on the Debian
   benchmark "the swirl", Debian, is in a fifth to a half of the rated questions).
A longer term wins over the words inside it when it explains the same questions, and a
common word at its edge belongs to it when the rest is only said in such pairs ("money
crew", "price crew": `_names_something`).

Its *expansion* (`engine.learning.expansions`) is the words of the chosen documents that
best stand for it: phrases (one or two words) found in the 👍 documents of most of the
term's questions and seldom in those of other rated questions; of those that lift the chosen documents in
BM25 when added to the term's questions, the expansion kept is the one with the best
lift × (1 + recurrence) × (1 + titled), where recurrence is how often the phrase keeps the
company of the questions' other words elsewhere in the corpus (`_recurrence`: the word the
slang stands for recurs, the words that single out one page do not) and titled how often
the chosen pages name it in their title (`_titled`). One phrase: a second one added to it
always lifts the pages it was learnt from, and mostly by singling them out ("yeet → deploy
bosun rollback" sank a question about the deploy freeze). A term whose best expansion lifts
nothing is not learnt, nor one of three questions or more whose expansion, learnt from the
others alone, does not help each of them (`generalises`).

`/argot define` entries (`defined/...` documents, `engine.search.vocabulary.defined_entries`)
give their term → the first words of their definition. Rejected terms (`argot glossary
reject`) are never learnt again. The cycle then keeps the vocabulary only if held-out
questions improve with it (`engine.learning.levers`).

Tip:
    `min_evidence=2` learns a term from two questions, which a wrong one needs too:
    the held-out gate and `argot glossary reject` are the safety net.

Example:
    >>> vocabulary = learn_vocabulary(training_questions, LearningCorpus(corpus.document_texts()))
    >>> vocabulary.entries[0].describe()
    'tollbooth → api gateway (7 questions)'
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from engine.evaluation.querysets import rewording_groups
from engine.learning.expansions import LearningCorpus, Wording, best_expansion, generalises
from engine.learning.trainingdata import RatedQuestion
from engine.search.tokens import CJK_RUN, QUESTION_WORDS, tokenize
from engine.search.vocabulary import LEARNT, GlossaryEntry, Vocabulary

MAX_TERM_WORDS = 3
MAX_DF_SHARE = 0.02
"""A word in at most this share of the documents is rare: likely the team's own."""


def learn_vocabulary(questions: Sequence[RatedQuestion], corpus: LearningCorpus,
                     *, rejected: Iterable[str] = (), min_evidence: int = 2,
                     max_df_share: float = MAX_DF_SHARE, defined: Iterable[GlossaryEntry] = ()
                     ) -> Vocabulary:
    """The learnt glossary (and the defined entries) from the training questions.

    Args:
        questions: rated training questions (held-out ones must not be among them).
        corpus: every indexed document, read (`LearningCorpus(doc_id → text)`; a cycle
            reads them once and learns from them many times).
        rejected: terms people rejected; never learnt.
        min_evidence: rated questions a term needs.
        max_df_share: a term in more of the documents than this is the corpus's own word.
        defined: entries from `/argot define` (`defined_entries`), kept unless rejected.

    Returns:
        The `Vocabulary`: learnt entries, most evidence first, then the defined ones.
    """
    row_of = {doc_id: row for row, doc_id in enumerate(corpus.doc_ids)}
    rated_questions = [q for q in questions if q.source == "rating" and q.positives]
    groups = rewording_groups({q.key: q.positives for q in rated_questions})
    rated = [Wording(q.text, tuple(tokenize(q.text)),
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
        found = best_expansion(asked, others, corpus)
        if found is not None and generalises(asked, others, corpus):
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
            join_tokens(term), join_tokens(expansion), _evidence(rated, free), LEARNT,
            tuple(q.text for q in chosen[:3]),
            tuple(dict.fromkeys(corpus.doc_ids[q.positives[0]] for q in chosen))[:5]))
    learnt.sort(key=lambda e: (-e.evidence, e.term))
    kept_defined = [e for e in defined if e.tokens not in refused]
    return Vocabulary(learnt + kept_defined)


def _mismatched_terms(rated: list[Wording], corpus: LearningCorpus, max_df_share: float,
                      min_evidence: int, refused: set[tuple[str, ...]]
                      ) -> list[tuple[tuple[str, ...], set[int]]]:
    """(term, the questions it is the mismatch in), longest terms first."""
    limit = max(1, int(max_df_share * len(corpus)))
    wordings = Counter(q.group for q in rated)
    members: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for index, question in enumerate(rated):
        tokens = question.tokens
        for n in range(1, MAX_TERM_WORDS + 1):
            for start in range(len(tokens) - n + 1):
                members[tokens[start:start + n]].add(index)
    found: list[tuple[tuple[str, ...], set[int]]] = []
    for term, questions in sorted(members.items(), key=lambda item: (-len(item[0]), item[0])):
        evidence = _evidence(rated, questions)
        if evidence < min_evidence or term in refused or set(term) <= QUESTION_WORDS:
            continue
        if term[0] in QUESTION_WORDS or term[-1] in QUESTION_WORDS:
            continue  # "does tollbooth do" is "tollbooth" asked
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
                     rated: Sequence[Wording], corpus: LearningCorpus, limit: int,
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
    pairs = [other for other in members if core in (other[1:], other[:-1]) and len(other) == len(term)
             and _evidence(rated, members[other]) >= min_evidence]
    covered = {rated[i].group for other in pairs for i in members[other]}
    return len(pairs) >= 2 and len(covered) >= 0.8 * _evidence(rated, members[core])


def _inside(term: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """Whether `term` is `other` or a run of words in it."""
    n = len(term)
    return any(other[i:i + n] == term for i in range(len(other) - n + 1))


def _evidence(rated: Sequence[Wording], members: Iterable[int]) -> int:
    """How many different questions (groups of rewordings) `members` are."""
    return len({rated[i].group for i in members})


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



