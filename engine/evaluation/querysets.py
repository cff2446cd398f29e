"""Query sets: questions with the documents that answer them, for measuring retrieval.

A query file is JSONL, one `{"query": "...", "relevant": ["doc_id", ...]}` per line
(see `argot eval` in PRODUCT.md). Empty lines are skipped; a malformed line is an
error that names its file and line. Rated questions from the feedback store make a
query set too: the documents with more 👍 than 👎 are its relevant ones.

`held_out(question)` splits rated questions for good: a stable hash of the normalised
text puts about one in five aside, so the learning loop never trains on the questions
that judge it, and the same question lands on the same side on every run and machine.
`held_out_questions` keeps rewordings of one question together ("what does the
tollbooth do", "quick question: what does the tollbooth do"), so that a question asked
four ways never judges a model trained on its other three wordings.

Example:
    >>> queries = QuerySet.load(Path("bot/demo/questions.jsonl"))
    >>> queries = queries.restricted_to(index.document_ids())   # warns about unknown ids
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from engine.errors import ArgotError
from engine.knowledge.jsonl import JsonLine, json_lines
from engine.search.tokens import QUESTION_WORDS, tokenize

if TYPE_CHECKING:
    from engine.feedback import FeedbackStore

HELD_OUT_SHARE = 0.2
Split = Literal["held_out", "train", "all"]
SHOWN_PROBLEMS = 10


class QuerySetError(ArgotError):
    """A query set that cannot be used as given; the message names the lines."""


def normalise_question(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(" ?!.")


def held_out(query_text: str, share: float = HELD_OUT_SHARE) -> bool:
    """True for the questions kept out of training and used to judge a new model."""
    digest = hashlib.sha1(normalise_question(query_text).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 0x1_0000_0000 < share


REWORDING_OVERLAP = 0.5
"""Two questions about one document that share more than this share of the shorter
one's words are one question reworded."""


def held_out_questions(chosen: Mapping[str, Collection[str]]) -> set[str]:
    """The held-out ones among normalised questions, given the documents chosen for each.

    Rewordings of one question (`rewording_groups`) go together, where `held_out` puts
    their group's first question in sort order. A question with no rewording goes where
    `held_out` puts it.
    """
    groups = rewording_groups(chosen)
    return {key for key in groups if held_out(groups[key])}


def _stem(word: str) -> str:
    """"means" and "mean" are one word to `rewording_groups`."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def rewording_groups(chosen: Mapping[str, Collection[str]]) -> dict[str, str]:
    """Each normalised question → the first (in sort order) of its rewordings.

    Questions that share a chosen document and most of their words (more than
    `REWORDING_OVERLAP` of the shorter one's, leaving aside stop words, `QUESTION_WORDS`
    ("anyone know" is how people ask) and a plural -s) are rewordings of one question
    ("who owns the tollbooth" and "deploying the tollbooth" are not).
    """
    keys = sorted(chosen)
    words = {key: {_stem(word) for word in tokenize(key) if word not in QUESTION_WORDS} for key in keys}
    group = {key: key for key in keys}

    def first(key: str) -> str:
        while group[key] != key:
            group[key] = group[group[key]]
            key = group[key]
        return key

    asked_about: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        for doc_id in chosen[key]:
            asked_about[doc_id].append(key)
    for members in asked_about.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                shorter = min(len(words[a]), len(words[b]))
                if shorter and len(words[a] & words[b]) > REWORDING_OVERLAP * shorter:
                    one, other = sorted((first(a), first(b)))
                    group[other] = one
    return {key: first(key) for key in keys}


@dataclass(frozen=True)
class LabelledQuery:
    """A question and the ids of the documents that answer it."""

    query: str
    relevant: frozenset[str]
    where: str = ""
    """`file:line` or `feedback`, for messages."""


@dataclass
class QuerySet:
    queries: list[LabelledQuery]
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.queries)

    def __iter__(self) -> Iterator[LabelledQuery]:
        return iter(self.queries)

    @property
    def texts(self) -> list[str]:
        return [q.query for q in self.queries]

    @property
    def relevant_ids(self) -> set[str]:
        return {doc_id for q in self.queries for doc_id in q.relevant}

    @classmethod
    def load(cls, path: Path) -> QuerySet:
        """Read a query file; raises QuerySetError listing every bad line."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise QuerySetError(f"{path}: cannot read the query file ({exc.strerror or exc})") from exc
        except UnicodeDecodeError as exc:
            raise QuerySetError(f"{path}: not UTF-8 (byte {exc.start})") from exc
        queries: list[LabelledQuery] = []
        problems: list[str] = []
        for line in json_lines(text, str(path)):
            try:
                queries.append(parse_query(line))
            except ValueError as exc:
                problems.append(f"{line.where}: {exc}")
        if problems:
            more = len(problems) - SHOWN_PROBLEMS
            raise QuerySetError("\n".join(problems[:SHOWN_PROBLEMS]
                                          + ([f"... and {more} more bad lines"] if more > 0 else [])))
        if not queries:
            raise QuerySetError(f"{path}: no queries. Write one JSON object per line: "
                                '{"query": "what is RLQ?", "relevant": ["glossary/rlq"]}')
        return cls(queries, source=str(path))

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Iterable[str]]], source: str = "") -> QuerySet:
        queries = [LabelledQuery(" ".join(q.split()), frozenset(rel), source)
                   for q, rel in pairs]
        return cls([q for q in queries if q.query and q.relevant], source=source)

    @classmethod
    def from_feedback(cls, store: FeedbackStore, split: Split = "held_out",
                      include_faq: bool = True) -> QuerySet:
        """Rated questions (and imported FAQ questions) as a query set.

        A question asked several times counts once; its relevant documents are those
        with a positive net vote. Questions with only 👎 have nothing to find and are
        left out. `split` picks the held-out slice (default), the training slice or all.
        """
        net: dict[str, dict[str, int]] = {}
        wording: dict[str, str] = {}
        for row in store.export():
            if row.get("modality", "text") != "text":
                continue
            key = normalise_question(row["question"])
            wording.setdefault(key, row["question"])
            per_doc = net.setdefault(key, {})
            per_doc[row["doc_id"]] = per_doc.get(row["doc_id"], 0) + int(row["vote"])
        relevant: dict[str, set[str]] = {
            key: {doc for doc, total in docs.items() if total > 0} for key, docs in net.items()}
        if include_faq:
            for pair in store.training_pairs("faq"):
                key = normalise_question(pair.anchor)
                wording.setdefault(key, pair.anchor)
                relevant.setdefault(key, set()).add(pair.positive)
        chosen = {key: docs for key, docs in relevant.items() if docs}
        kept_out = held_out_questions(chosen)
        pairs = [(wording[key], docs) for key, docs in chosen.items()
                 if split == "all" or (key in kept_out) == (split == "held_out")]
        return cls.from_pairs(pairs, source=f"feedback ({split.replace('_', '-')})")

    def restricted_to(self, known_ids: Collection[str], *, strict: bool = False) -> QuerySet:
        """Drop relevant ids the corpus does not have, naming each in a warning.

        A query left with no relevant document is dropped (named too). When nothing
        is left, or `strict` and anything is unknown, raises QuerySetError.
        """
        known = set(known_ids)
        kept: list[LabelledQuery] = []
        warnings = list(self.warnings)
        for query in self.queries:
            unknown = sorted(query.relevant - known)
            if unknown:
                label = f"{query.where}: " if query.where else ""
                warnings.append(f"{label}unknown document id{'s' if len(unknown) > 1 else ''} "
                                f"{', '.join(map(repr, unknown))} (not in the index)"
                                + ("" if query.relevant & known
                                   else f"; query {query.query!r} skipped"))
            if query.relevant & known:
                kept.append(LabelledQuery(query.query, query.relevant & known, query.where))
        if strict and len(warnings) > len(self.warnings):
            raise QuerySetError("\n".join(warnings[len(self.warnings):]))
        if self.queries and not kept:
            sample = ", ".join(sorted(self.relevant_ids)[:3])
            raise QuerySetError(f"None of the documents named in {self.source or 'the queries'} "
                                f"(e.g. {sample}) is in the index. Ingest the knowledge base they "
                                "refer to first (`argot ingest PATH`).")
        return QuerySet(kept, source=self.source, warnings=warnings)


def parse_query(line: JsonLine) -> LabelledQuery:
    """One line of a query file; `ValueError` saying what is wrong with it."""
    row = line.object('an object like {"query": ..., "relevant": [...]}')
    query = row.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValueError('"query" is missing or empty')
    relevant = row.get("relevant")
    if isinstance(relevant, str):
        relevant = [relevant]
    if (not isinstance(relevant, list) or not relevant
            or not all(isinstance(doc, str) and doc for doc in relevant)):
        raise ValueError('"relevant" must be a non-empty list of document ids')
    return LabelledQuery(" ".join(query.split()), frozenset(relevant), line.where)
