"""One model as the learning levers see it, the serving stack's answers with it, and
their scores (`Answers`, `measure`: weighted RRF of the ranked lists, as served, with the
weights of each kind of question).

Choosing the levers answers the same questions with the same model many times: each
cross-check fold embeds the other folds' rated questions for the feedback memory, with and
without the vocabulary, once per model. `remembering` gives a side whose embedder keeps
its questions' vectors (`engine.evaluation.vectors.QueryVectors`), so each text is
embedded once: on the Debian FAQ benchmark, the memory's embeddings were half of choosing
the levers.

Example:
    >>> side = remembering(ModelSide("active", embedder, vectors))
    >>> lists = question_lists(corpus, held_out, side, vocabulary, memory)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.embedders import TextEmbedder
from engine.evaluation.corpus import EvalCorpus, ExactVectors
from engine.evaluation.metrics import RankingScores, ndcg_at, score_rankings
from engine.evaluation.querysets import QuerySet, normalise_question
from engine.evaluation.vectors import QueryVectors
from engine.learning.trainingdata import RatedQuestion
from engine.search.fusion import FUSION_DEPTH, fuse
from engine.search.lexical import Bm25
from engine.search.memory import FeedbackMemory, MemoryRanker, chunk_lookup
from engine.search.profile import LearnedProfile
from engine.search.ranking import RankedChunk
from engine.search.retrieval import Searcher, Weighted
from engine.search.vocabulary import Vocabulary
from engine.types import Chunk

K = 10


@dataclass(frozen=True)
class ModelSide:
    """One model as the levers see it: its embedder and its vectors of the corpus."""

    name: str
    """"active" or "candidate"."""
    embedder: TextEmbedder
    vectors: np.ndarray
    corpus: EvalCorpus | None = None
    """The chunks `vectors` are of, when not every chunk (a cross-fitted half's pool)."""


def remembering(side: ModelSide) -> ModelSide:
    """The same side, its embedder keeping every question's vector once embedded."""
    if isinstance(side.embedder, QueryVectors):
        return side
    return replace(side, embedder=QueryVectors(side.embedder))


def question_lists(corpus: EvalCorpus, queries: QuerySet, side: ModelSide, vocabulary: Vocabulary,
                   memory: FeedbackMemory | None, bm25: Bm25 | None = None
                   ) -> list[list[list[str]]]:
    """Per question: its dense, BM25 (and memory) rankings, doc ids, from the serving stack."""
    bm25 = bm25 or Bm25.over(corpus.chunks)
    rankers = [Weighted("memory", MemoryRanker(memory, chunk_lookup(bm25.chunks)), 1.0)] \
        if memory is not None and len(memory) else []
    vectors = ExactVectors(corpus if side.corpus is None else side.corpus, side.vectors)
    searcher = Searcher(vectors, bm25, side.embedder, "hybrid",
                        expansions=[vocabulary.expand] if vocabulary else [], rankers=rankers)
    asked = [searcher.query(text) for text in queries.texts]
    embedded = side.embedder.embed_batch([query.text for query in asked], "query")
    found = []
    for query, vector in zip(asked, embedded, strict=True):
        ranked = searcher.ranked_lists(replace(query, vector=vector), FUSION_DEPTH)
        found.append([[item.chunk.doc_id for item in ranking] for ranking, _ in ranked])
    return found


Fusion = tuple[float, float]
"""(dense, BM25) weights."""


@dataclass(frozen=True)
class Measured:
    """Some questions' scores, together and one by one."""

    scores: RankingScores
    per_question: tuple[float, ...]
    """nDCG@10 of each held-out question, in the query set's order."""


@dataclass(frozen=True)
class Answers:
    """Some questions' ranked lists (dense, BM25, memory), their relevant documents,
    their normalised texts, whether each holds an unfamiliar word, and how many asked
    questions each counts for (`Ratings.judging_weights`)."""

    lists: list[list[list[str]]]
    relevant: list[set[str]]
    keys: list[str]
    unfamiliar: list[bool]
    weights: list[float]

    @classmethod
    def of(cls, queries: QuerySet, lists: list[list[list[str]]], bm25: Bm25,
           weights: Mapping[str, float] | None = None) -> Answers:
        keys = [normalise_question(q.query) for q in queries]
        return cls(lists, [set(q.relevant) for q in queries], keys,
                   [bm25.unfamiliar(text) for text in queries.texts],
                   [(weights or {}).get(key, 1.0) for key in keys])


def measure_profile(corpus: EvalCorpus, queries: QuerySet, side: ModelSide,
                    profile: LearnedProfile, bm25: Bm25 | None = None) -> Measured:
    """One model answering with one learnt profile, on `queries` (hybrid, as served)."""
    bm25 = bm25 or Bm25.over(corpus.chunks)
    found = question_lists(corpus, queries, side, profile.vocabulary, profile.memory, bm25)
    return measure([Answers.of(queries, found, bm25)], *served_weights(profile))


def served_fusion(profile: LearnedProfile) -> tuple[Fusion, Fusion]:
    """(dense, BM25) of a profile for questions without and with unfamiliar words."""
    familiar, unfamiliar = (profile.fusion_weights(kind) for kind in (False, True))
    return (familiar["dense"], familiar["bm25"]), (unfamiliar["dense"], unfamiliar["bm25"])


def served_weights(profile: LearnedProfile) -> tuple[list[float], list[float]]:
    """[dense, BM25, memory] weights of a profile for questions without and with
    unfamiliar words."""
    memory = profile.weights.get("memory", 0.0)
    familiar, unfamiliar = served_fusion(profile)
    return [*familiar, memory], [*unfamiliar, memory]


def measure(parts: Sequence[Answers], weights: Sequence[float],
            unfamiliar: Sequence[float] | None = None) -> Measured:
    """Fused with `weights`, or `unfamiliar` for a question holding an unfamiliar word."""
    rankings = [fused(lists, unfamiliar if flag and unfamiliar is not None else weights)
                for part in parts for lists, flag in zip(part.lists, part.unfamiliar, strict=True)]
    return scored(rankings, [rel for part in parts for rel in part.relevant], counted(parts))


def counted(parts: Sequence[Answers]) -> list[float]:
    """How many asked questions each of the parts' questions counts for, in order."""
    return [w for part in parts for w in part.weights]


def scored(rankings: Sequence[list[str]], relevant: Sequence[set[str]],
           weights: Sequence[float] | None = None) -> Measured:
    """Scores of rankings (weighted means with `weights`, one per question)."""
    return Measured(score_rankings(zip(rankings, relevant, strict=True), weights),
                    tuple(ndcg_at(r, rel) for r, rel in zip(rankings, relevant, strict=True)))


def fused(lists: Sequence[Sequence[str]], weights: Sequence[float]) -> list[str]:
    """Doc ids of weighted RRF over doc-id lists (what `engine.search.fusion.fuse` ranks)."""
    weighted = [([RankedChunk(Chunk(doc_id, 0, ""), 0.0) for doc_id in ranking], weight)
                for ranking, weight in zip(lists, weights, strict=False) if weight > 0]
    if not weighted:
        return []
    return [item.chunk.doc_id for item in fuse(weighted, K)]


def rated_memory(side: ModelSide, expand: Vocabulary, questions: Sequence[RatedQuestion],
                 threshold: float) -> FeedbackMemory | None:
    """The rated questions as a memory, embedded (expanded) by `side`'s model."""
    if not questions:
        return None
    texts = [expand.expand_text(q.text) for q in questions]
    return FeedbackMemory([q.text for q in questions],
                          [tuple(sorted(q.positives, key=lambda d: -q.positives[d])) for q in questions],
                          side.embedder.embed_batch(texts, "query"), threshold)


def memory_without(memory: FeedbackMemory | None, keys: set[str]) -> FeedbackMemory | None:
    """The memory without the questions being cross-checked (it would just recall them)."""
    if memory is None:
        return None
    rows = [i for i, q in enumerate(memory.questions) if normalise_question(q) not in keys]
    if not rows:
        return None
    return FeedbackMemory([memory.questions[i] for i in rows], [memory.documents[i] for i in rows],
                          memory.vectors[rows], memory.threshold)
