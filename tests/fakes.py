"""Test doubles shared by the suite."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from engine.embedders import Kind, TextEmbedder, normalise


class FakeEmbedder(TextEmbedder):
    """A deterministic bag-of-words embedder: texts that share words are close.

    Fast enough for unit tests and predictable enough to assert rankings on; the
    real MiniLM is used by the tests marked `slow`.
    """

    def __init__(self, dimension: int = 256, model_id: str = "fake-bow") -> None:
        self._dimension = dimension
        self.model_id = model_id
        self.calls: list[int] = []

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self._dimension
                vectors[row, bucket] += 1.0
            vectors[row, 0] += 1e-3  # never a zero vector
        return normalise(vectors)
