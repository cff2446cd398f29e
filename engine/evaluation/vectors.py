"""Vectors for evaluation: corpus embeddings cached on disk, and questions' vectors
served to the searcher.

Chunk vectors are cached under `ARGOT_HOME/cache/eval`, keyed by the model version,
the model files' fingerprint and the corpus hash, so a second `argot eval` is fast.
`QueryVectors` wraps an embedder so that `Searcher` reads questions embedded ahead
of time (in one batch) and records how long each question it embedded took.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.embedders import Kind, TextEmbedder, slug
from engine.evaluation.corpus import EvalCorpus

log = logging.getLogger(__name__)

EMBED_BLOCK = 1024
KEEP_PER_MODEL = 3

Progress = Callable[[int, int], None]


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


class QueryVectors(TextEmbedder):
    """An embedder whose question vectors come from `known` when they are there.

    Any other question asked through `embed_query` is embedded by `embedder` one at a
    time, as the bot embeds, and `seconds[text]` says how long that took; `embed_batch`
    embeds the ones it does not know in one batch. Either way a question is embedded once
    and then known. Documents go to `embedder`.
    """

    def __init__(self, embedder: TextEmbedder, known: Mapping[str, np.ndarray] | None = None) -> None:
        self.embedder = embedder
        self.model_id = embedder.model_id
        self.known = dict(known or {})
        self.seconds: dict[str, float] = {}

    @classmethod
    def embedded(cls, embedder: TextEmbedder, questions: Sequence[str]) -> QueryVectors:
        """All `questions` embedded now, in one batch."""
        vectors = embedder.embed_batch(list(questions), "query") if questions else []
        return cls(embedder, dict(zip(questions, vectors, strict=True)))

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def embed_query(self, text: str) -> np.ndarray:
        vector = self.known.get(text)
        if vector is None:
            started = time.perf_counter()
            vector = self.embedder.embed_query(text)
            self.seconds[text] = time.perf_counter() - started
            self.known[text] = vector
        return vector

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if kind != "query":
            return self.embedder.embed_batch(texts, kind)
        missing = list(dict.fromkeys(text for text in texts if text not in self.known))
        if missing:
            self.known.update(zip(missing, self.embedder.embed_batch(missing, "query"), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self.known[text] for text in texts])
