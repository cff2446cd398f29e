"""The team's vocabulary at answer time: glossary expansions of a question.

A learning cycle learns which words the team uses that the documents do not ("the
tollbooth") and which words the documents use for them ("api gateway"), from the
documents people rated 👍 (`engine.learning.vocabulary`); `/argot define` entries
add theirs. When a question holds a term, its expansion is added to what the
embedder reads (`Query.text`, in brackets at the end) and to what BM25 reads
(`Query.words`), so both halves of the hybrid find the documents' own words.

Terms match on tokens (`engine.search.tokens`), longest first, never overlapping, so
"golden ticket queue" wins over "golden ticket" and CJK terms match inside a sentence.

Example:
    >>> vocabulary = Vocabulary([GlossaryEntry("tollbooth", "api gateway", evidence=7)])
    >>> vocabulary.expand_text("who owns the tollbooth?")
    'who owns the tollbooth? (api gateway)'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from engine.search.tokens import tokenize

LEARNT = "learnt"
DEFINED = "defined"


@dataclass(frozen=True)
class GlossaryEntry:
    """One term the team uses, and the documents' words for it."""

    term: str
    expansion: str
    evidence: int = 0
    """Rated questions that support it (for a defined entry: 0)."""
    source: str = LEARNT
    """"learnt" (from ratings) or "defined" (`/argot define`)."""
    examples: tuple[str, ...] = ()
    """A few of the rated questions it was learnt from."""
    documents: tuple[str, ...] = ()
    """The documents people chose for those questions (or the defined entry)."""

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(tokenize(self.term))

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["examples"], row["documents"] = list(self.examples), list(self.documents)
        return row

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> GlossaryEntry:
        return cls(str(row["term"]), str(row["expansion"]), int(row.get("evidence", 0)),
                   str(row.get("source", LEARNT)), tuple(row.get("examples", ())),
                   tuple(row.get("documents", ())))

    def describe(self) -> str:
        """"tollbooth → api gateway (7 questions)", as reports say it."""
        why = f"{self.evidence} question{'s' if self.evidence != 1 else ''}" \
            if self.source == LEARNT else "defined"
        return f"{self.term} → {self.expansion} ({why})"


@dataclass
class Vocabulary:
    """Glossary entries keyed by their tokens; `expand` is a `Searcher` expansion step."""

    entries: list[GlossaryEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_tokens: dict[tuple[str, ...], GlossaryEntry] = {}
        for entry in self.entries:
            key = entry.tokens
            if key and key not in self._by_tokens:
                self._by_tokens[key] = entry
        self._longest = max((len(k) for k in self._by_tokens), default=0)

    def __len__(self) -> int:
        return len(self._by_tokens)

    def __bool__(self) -> bool:
        return bool(self._by_tokens)

    def found(self, text: str) -> list[GlossaryEntry]:
        """The entries whose terms occur in `text`, in order, longest match first."""
        if not self._by_tokens:
            return []
        tokens = tokenize(text)
        found: list[GlossaryEntry] = []
        start = 0
        while start < len(tokens):
            for width in range(min(self._longest, len(tokens) - start), 0, -1):
                entry = self._by_tokens.get(tuple(tokens[start:start + width]))
                if entry is not None:
                    if entry not in found:
                        found.append(entry)
                    start += width
                    break
            else:
                start += 1
        return found

    def expansions_for(self, text: str) -> list[str]:
        """The expansions to add to `text`: those of its terms, minus words already in it."""
        have = set(tokenize(text))
        added: list[str] = []
        for entry in self.found(text):
            if not set(tokenize(entry.expansion)) <= have:
                added.append(entry.expansion)
                have |= set(tokenize(entry.expansion))
        return added

    def expand_text(self, text: str) -> str:
        added = self.expansions_for(text)
        return f"{text} ({'; '.join(added)})" if added else text

    def expand(self, query: Any) -> Any:
        """The `Searcher` expansion step: the same expansions for the embedder and BM25."""
        added = self.expansions_for(query.text)
        if not added:
            return query
        return replace(query, text=f"{query.text} ({'; '.join(added)})",
                       words=f"{query.words} {' '.join(added)}")

    def without(self, terms: Iterable[str]) -> Vocabulary:
        """The same vocabulary with these terms (any case) left out."""
        gone = {tuple(tokenize(term)) for term in terms}
        return Vocabulary([e for e in self.entries if e.tokens not in gone])

    def as_rows(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.entries]

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> Vocabulary:
        return cls([GlossaryEntry.from_dict(row) for row in rows])


DEFINITION_WORDS = 8


def defined_entries(glossary: Iterable[tuple[str, str, str]]) -> list[GlossaryEntry]:
    """`/argot define` entries as expansions: (doc_id, term, text) → term → the first
    words of its definition."""
    entries: list[GlossaryEntry] = []
    for doc_id, term, text in glossary:
        definition = text.split(":", 1)[1] if text.lower().startswith(term.lower() + ":") else text
        first = " ".join(definition.split()[:DEFINITION_WORDS]).rstrip(".,;")
        if term.strip() and first:
            entries.append(GlossaryEntry(term.strip(), first, 0, DEFINED, (), (doc_id,)))
    return entries
