"""Hard-negative mining: the documents the active model ranks high for a question but
that do not answer it.

This is `sentence_transformers.util.mine_hard_negatives` with its recommended
settings (TopK-PercPos: the top of the ranking, minus anything scoring within 5 % of the
positive), done at the level Argot retrieves at: documents scored by their best chunk,
with the chunk vectors already stored in the active collection. The library function
would embed the whole corpus again and, seeing chunks, would take other chunks of the
positive document as negatives; here every positive of a question is excluded, and a
document is represented by its chunk that best matches the question.

Explicit 👎 and passed-over documents always count as negatives (they are not subject
to the margin: a person said so). Mined ones fill the remaining slots.

Tip:
    `range_max=30, relative_margin=0.05, num_negatives=3` follow NV-Retriever's best
    setting. Raise `range_min` (say to 3) if people often rate several documents 👍
    and leave others unrated that are just as good.

Example:
    >>> corpus = ActiveCorpus.from_index(services.index())
    >>> mined = mine(questions, corpus, services.embedder())
    >>> mined.examples[0].negatives[0].kind
    'mined'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.corpus import EvalCorpus
from engine.learning.trainingdata import RatedQuestion

QUERY_BLOCK = 256


@dataclass(frozen=True)
class ActiveCorpus:
    """The active collection as numbers: its chunks, grouped by document, and their vectors."""

    corpus: EvalCorpus
    vectors: np.ndarray
    metadata: dict[str, dict[str, Any]]
    """chunk_id → the chunk's stored metadata."""

    @classmethod
    def from_index(cls, index: Any) -> ActiveCorpus:
        rows = {chunk.chunk_id: (chunk, meta, vector) for chunk, meta, vector in index.iter_vectors()}
        corpus = EvalCorpus.from_chunks(chunk for chunk, _, _ in rows.values())
        if not corpus.chunks:
            return cls(corpus, np.zeros((0, 0), dtype=np.float32), {})
        vectors = np.vstack([rows[chunk.chunk_id][2] for chunk in corpus.chunks]).astype(np.float32)
        return cls(corpus, vectors, {cid: meta for cid, (_, meta, _) in rows.items()})

    def __len__(self) -> int:
        return len(self.corpus)

    def doc_row(self) -> dict[str, int]:
        return {doc_id: row for row, doc_id in enumerate(self.corpus.doc_ids)}

    def chunk_range(self, doc_row: int) -> tuple[int, int]:
        starts = self.corpus.starts
        end = int(starts[doc_row + 1]) if doc_row + 1 < len(starts) else len(self.corpus.chunks)
        return int(starts[doc_row]), end


@dataclass(frozen=True)
class HardNegative:
    doc_id: str
    text: str
    score: float
    kind: str
    """"rated 👎", "passed over" or "mined"."""


@dataclass(frozen=True)
class TrainingExample:
    """(anchor, positive, negatives) as the trainer reads them: texts, plus where they came from."""

    anchor: str
    positive_doc: str
    positive: str
    positive_score: float
    negatives: tuple[HardNegative, ...]
    source: str


@dataclass
class Mined:
    examples: list[TrainingExample] = field(default_factory=list)
    negatives_by_kind: Counter = field(default_factory=Counter)
    dropped_near_positive: int = 0
    """Candidates skipped because they scored almost as high as the positive."""
    missing_documents: set[str] = field(default_factory=set)
    """Rated documents no longer in the index (forgotten since the vote)."""

    @property
    def hard_negatives(self) -> int:
        return int(self.negatives_by_kind["mined"])

    def pairs_by_source(self) -> dict[str, int]:
        return dict(Counter(example.source for example in self.examples))


def mine(questions: Sequence[RatedQuestion], corpus: ActiveCorpus, embedder: TextEmbedder, *,
         range_min: int = 0, range_max: int = 30, relative_margin: float = 0.05,
         max_score: float | None = None, num_negatives: int = 3) -> Mined:
    """Turn labelled questions into training examples with hard negatives.

    Args:
        questions: labelled questions (the held-out slice must already be removed).
        corpus: the active collection's chunks and vectors.
        embedder: the active model, to embed the questions the way it answers them.
        range_min / range_max: the rank window (0-based, documents) negatives are mined from.
        relative_margin: a candidate scoring above `positive × (1 - margin)` may well be
            relevant and unrated: it is dropped, not used.
        max_score: candidates scoring above this are dropped too (None: no limit).
        num_negatives: negatives per example, explicit ones first.

    Returns:
        `Mined`: one example per (question, positive document) in the index.
    """
    mined = Mined()
    usable = [q for q in questions if q.positives]
    if not usable or not len(corpus):
        return mined
    rows = corpus.doc_row()
    positives_of: dict[str, set[str]] = {}
    for question in questions:
        positives_of.setdefault(question.key, set()).update(question.positives)
    texts = [chunk.embedding_text for chunk in corpus.corpus.chunks]
    for start in range(0, len(usable), QUERY_BLOCK):
        block = usable[start:start + QUERY_BLOCK]
        query_vectors = embedder.embed_batch([q.text for q in block], "query")
        chunk_scores = query_vectors @ corpus.vectors.T
        doc_scores = corpus.corpus.best_per_document(chunk_scores)
        for question, chunk_row, doc_row in zip(block, chunk_scores, doc_scores, strict=True):
            _examples_for(question, chunk_row, doc_row, corpus, rows, texts,
                          positives_of[question.key], mined, range_min=range_min,
                          range_max=range_max, relative_margin=relative_margin,
                          max_score=max_score, num_negatives=num_negatives)
    return mined


def _examples_for(question: RatedQuestion, chunk_scores: np.ndarray, doc_scores: np.ndarray,
                  corpus: ActiveCorpus, rows: dict[str, int], texts: list[str],
                  all_positives: set[str], mined: Mined, *, range_min: int, range_max: int,
                  relative_margin: float, max_score: float | None, num_negatives: int) -> None:
    def best_chunk(doc_id: str) -> int:
        begin, end = corpus.chunk_range(rows[doc_id])
        return begin + int(np.argmax(chunk_scores[begin:end]))

    explicit = [(doc, "rated 👎") for doc in question.negatives] + \
               [(doc, "passed over") for doc in sorted(question.passed_over)]
    mined.missing_documents |= {doc for doc, _ in explicit if doc not in rows}
    explicit = [(doc, kind) for doc, kind in explicit if doc in rows and doc not in all_positives]
    explicit.sort(key=lambda item: -float(doc_scores[rows[item[0]]]))
    order = np.argsort(-doc_scores, kind="stable")
    window = [corpus.corpus.doc_ids[i] for i in order[range_min:range_max]]
    excluded = all_positives | {doc for doc, _ in explicit}

    for positive_doc in sorted(question.positives):
        if positive_doc not in rows:
            mined.missing_documents.add(positive_doc)
            continue
        chunk = _positive_chunk(question, positive_doc, corpus, rows) or best_chunk(positive_doc)
        positive_score = float(chunk_scores[chunk])
        ceiling = positive_score - abs(positive_score) * relative_margin
        if max_score is not None:
            ceiling = min(ceiling, max_score)
        negatives = [HardNegative(doc, texts[best_chunk(doc)], float(doc_scores[rows[doc]]), kind)
                     for doc, kind in explicit]
        for doc in window:
            if len(negatives) >= max(num_negatives, len(explicit)):
                break
            if doc in excluded:
                continue
            score = float(doc_scores[rows[doc]])
            if score > ceiling:
                mined.dropped_near_positive += 1
                continue
            negatives.append(HardNegative(doc, texts[best_chunk(doc)], score, "mined"))
        mined.negatives_by_kind.update(n.kind for n in negatives)
        mined.examples.append(TrainingExample(question.text, positive_doc, texts[chunk],
                                              positive_score, tuple(negatives), question.source))


def _positive_chunk(question: RatedQuestion, doc_id: str, corpus: ActiveCorpus,
                    rows: dict[str, int]) -> int | None:
    """A FAQ section's own chunk, when the question came from that section's heading."""
    if question.chunk_position is None:
        return None
    begin, end = corpus.chunk_range(rows[doc_id])
    for row in range(begin, end):
        if corpus.corpus.chunks[row].position == question.chunk_position:
            return row
    return None
