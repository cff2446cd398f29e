"""Exact in-memory retrieval over a fixed corpus, for measuring models side by side.

The index answers with approximate (HNSW) search in one model's collection; to compare
models, each one's chunk vectors are held in numpy instead and searched exactly. A
document is scored by its best chunk, as `Retriever` does, so dense, BM25 and hybrid
results are rankings of the same documents. Ties go to the smaller doc id, the order
sentence-transformers' `InformationRetrievalEvaluator` uses.

Chunk vectors are cached under `ARGOT_HOME/cache/eval`, keyed by the model version,
the model files' fingerprint and the corpus hash, so a second `argot eval` is fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder, slug
from engine.knowledge.chunking import chunk_document
from engine.search.retrieval import bm25_model, rrf_scores
from engine.types import Chunk, Document

log = logging.getLogger(__name__)

EMBED_BLOCK = 1024
KEEP_PER_MODEL = 3
HYBRID_DEPTH = 20
"""Documents taken from each of dense and BM25 before fusing, as `Retriever.hybrid`."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EvalCorpus:
    """Chunks grouped by document: `starts[i]` is where document `doc_ids[i]` begins."""

    chunks: tuple[Chunk, ...]
    doc_ids: tuple[str, ...]
    starts: np.ndarray

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> EvalCorpus:
        ordered = sorted(chunks, key=lambda c: (c.doc_id, c.position))
        doc_ids: list[str] = []
        starts: list[int] = []
        for row, chunk in enumerate(ordered):
            if not doc_ids or doc_ids[-1] != chunk.doc_id:
                doc_ids.append(chunk.doc_id)
                starts.append(row)
        return cls(tuple(ordered), tuple(doc_ids), np.asarray(starts, dtype=np.int64))

    @classmethod
    def from_index(cls, index: Any) -> EvalCorpus:
        """Every chunk of one index version (a `ChunkIndex`)."""
        return cls.from_chunks(chunk for chunk, _ in index.iter_chunks())

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> EvalCorpus:
        """doc_id → text, chunked the way ingestion chunks."""
        chunks: list[Chunk] = []
        for doc_id, text in texts.items():
            chunks.extend(chunk_document(Document(doc_id=doc_id, text=text)))
        return cls.from_chunks(chunks)

    def __len__(self) -> int:
        return len(self.doc_ids)

    @property
    def texts(self) -> list[str]:
        return [chunk.embedding_text for chunk in self.chunks]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha1()
        for chunk in self.chunks:
            digest.update(chunk.chunk_id.encode("utf-8", "surrogatepass") + b"\x00")
            digest.update(chunk.embedding_text.encode("utf-8", "surrogatepass") + b"\x01")
        return digest.hexdigest()[:16]

    def document_texts(self) -> dict[str, str]:
        """doc_id → the text of its chunks, as the model sees them, joined."""
        texts: dict[str, list[str]] = {}
        for chunk in self.chunks:
            texts.setdefault(chunk.doc_id, []).append(chunk.embedding_text)
        return {doc_id: "\n\n".join(parts) for doc_id, parts in texts.items()}

    def best_per_document(self, chunk_scores: np.ndarray) -> np.ndarray:
        """(queries, chunks) → (queries, documents): each document's best chunk score."""
        if not len(self.doc_ids):
            return np.zeros((chunk_scores.shape[0], 0), dtype=np.float32)
        return np.maximum.reduceat(chunk_scores, self.starts, axis=1)

    def document_vectors(self, chunk_vectors: np.ndarray) -> np.ndarray:
        """One normalised vector per document: the mean of its chunks (for the star map)."""
        if not len(self.doc_ids):
            return np.zeros((0, chunk_vectors.shape[1] if chunk_vectors.ndim == 2 else 0))
        counts = np.diff(np.append(self.starts, len(self.chunks)))[:, None]
        means = np.add.reduceat(chunk_vectors, self.starts, axis=0) / counts
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


def as_corpus(corpus: EvalCorpus | Mapping[str, str] | Iterable[Chunk]) -> EvalCorpus:
    if isinstance(corpus, EvalCorpus):
        return corpus
    if isinstance(corpus, Mapping):
        return EvalCorpus.from_texts(corpus)
    return EvalCorpus.from_chunks(corpus)


def top_documents(scores: np.ndarray, doc_ids: Sequence[str], k: int,
                  minimum: float = -np.inf) -> list[str]:
    """The k best doc ids by (-score, doc_id); scores not above `minimum` are left out."""
    if not len(scores):
        return []
    k = min(k, len(scores))
    threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
    candidates = np.flatnonzero((scores >= threshold) & (scores > minimum))
    ordered = sorted(candidates, key=lambda row: (-float(scores[row]), doc_ids[row]))
    return [doc_ids[row] for row in ordered[:k]]


# -- chunk vectors and their cache --------------------------------------------------------


@dataclass(frozen=True)
class CorpusVectors:
    vectors: np.ndarray
    seconds: float
    """How long embedding the corpus took when it was embedded (maybe on an earlier run)."""
    cached: bool


class EmbeddingCache:
    """Corpus embeddings on disk; `root` None keeps nothing."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def corpus_vectors(self, embedder: TextEmbedder, corpus: EvalCorpus,
                       progress: Progress | None = None) -> CorpusVectors:
        key = self.key(embedder, corpus)
        if self.root is not None:
            found = self._read(key, len(corpus.chunks))
            if found is not None:
                return found
        started = time.perf_counter()
        vectors = embed_texts(embedder, corpus.texts, progress)
        seconds = time.perf_counter() - started
        if self.root is not None:
            self._write(key, vectors, seconds, embedder.model_id)
        return CorpusVectors(vectors, seconds, cached=False)

    @staticmethod
    def key(embedder: TextEmbedder, corpus: EvalCorpus) -> str:
        identity = f"{embedder.model_id}|{model_fingerprint(embedder)}|{corpus.fingerprint}"
        return f"{slug(embedder.model_id, 60)}--{hashlib.sha1(identity.encode()).hexdigest()[:16]}"

    def _read(self, key: str, rows: int) -> CorpusVectors | None:
        assert self.root is not None
        try:
            meta = json.loads((self.root / f"{key}.json").read_text())
            vectors = np.load(self.root / f"{key}.npy")
        except (OSError, ValueError) as exc:
            log.debug("no usable cache %s: %s", key, exc)
            return None
        if vectors.shape[0] != rows:
            return None
        return CorpusVectors(vectors.astype(np.float32, copy=False), float(meta["seconds"]),
                             cached=True)

    def _write(self, key: str, vectors: np.ndarray, seconds: float, version: str) -> None:
        assert self.root is not None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._prune(key.split("--")[0] + "--")
            handle, temp = tempfile.mkstemp(dir=self.root, suffix=".npy.tmp")
            with os.fdopen(handle, "wb") as out:
                np.save(out, vectors)
            os.replace(temp, self.root / f"{key}.npy")
            (self.root / f"{key}.json").write_text(json.dumps(
                {"version": version, "seconds": seconds, "rows": int(vectors.shape[0]),
                 "written_at": time.time()}))
        except OSError as exc:  # a cache that cannot be written only costs time
            log.warning("cannot cache embeddings under %s: %s", self.root, exc)


    def _prune(self, prefix: str, keep: int = KEEP_PER_MODEL) -> None:
        """An index that changes leaves stale corpus hashes behind; keep the newest few."""
        assert self.root is not None
        stale = sorted(self.root.glob(f"{prefix}*.npy"), key=lambda p: p.stat().st_mtime)
        for old in stale[:max(0, len(stale) - keep + 1)]:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)


def model_fingerprint(embedder: TextEmbedder) -> str:
    """Sizes and times of a local model's files, so a re-saved model is embedded again."""
    path = getattr(embedder, "name_or_path", None)
    if not path or not Path(path).is_dir():
        return ""
    digest = hashlib.sha1()
    for file in sorted(Path(path).rglob("*")):
        if file.is_file():
            stat = file.stat()
            digest.update(f"{file.relative_to(path)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def embed_texts(embedder: TextEmbedder, texts: Sequence[str],
                progress: Progress | None = None) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    blocks = []
    for start in range(0, len(texts), EMBED_BLOCK):
        blocks.append(embedder.embed_documents(texts[start:start + EMBED_BLOCK]))
        if progress:
            progress(min(start + EMBED_BLOCK, len(texts)), len(texts))
    return np.vstack(blocks).astype(np.float32, copy=False)


# -- rankers ---------------------------------------------------------------------------------


class DenseRanker:
    """Exact cosine search over one model's chunk vectors."""

    def __init__(self, embedder: TextEmbedder, corpus: EvalCorpus, vectors: np.ndarray) -> None:
        self.embedder = embedder
        self.corpus = corpus
        self.vectors = vectors

    def document_scores(self, query_vectors: np.ndarray) -> np.ndarray:
        return self.corpus.best_per_document(np.atleast_2d(query_vectors) @ self.vectors.T)

    def rank(self, query: str, k: int) -> list[str]:
        scores = self.document_scores(self.embedder.embed_query(query))[0]
        return top_documents(scores, self.corpus.doc_ids, k)

    def rank_vectors(self, query_vectors: np.ndarray, k: int) -> list[list[str]]:
        rankings: list[list[str]] = []
        for start in range(0, len(query_vectors), 256):  # bounds the (queries × chunks) matrix
            scores = self.document_scores(query_vectors[start:start + 256])
            rankings.extend(top_documents(row, self.corpus.doc_ids, k) for row in scores)
        return rankings


class Bm25Ranker:
    """BM25 over the chunks' embedding text (title, heading, body), as `LexicalIndex`."""

    def __init__(self, corpus: EvalCorpus) -> None:
        self.corpus = corpus
        self.model = bm25_model(corpus.texts if corpus.chunks else [])

    def rank(self, query: str, k: int) -> list[str]:
        import bm25s

        if not self.corpus.chunks:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False, return_ids=False)[0]
        if not tokens:
            return []
        chunk_scores = np.asarray(self.model.get_scores(tokens), dtype=np.float32)[None, :]
        scores = self.corpus.best_per_document(chunk_scores)[0]
        return top_documents(scores, self.corpus.doc_ids, k, minimum=0.0)


def fuse(rankings: Sequence[Sequence[str]], k: int) -> list[str]:
    """Reciprocal-rank fusion of doc-id rankings, the formula `Retriever.hybrid` uses."""
    scores = rrf_scores(rankings)
    return sorted(scores, key=lambda doc_id: -scores[doc_id])[:k]
