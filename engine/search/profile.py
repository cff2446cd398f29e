"""What a learning cycle taught the search stack, stored with the model version it goes with.

A promoted version's folder (`models/ftNNNN/`) holds, next to the model:
    learned.json   {"vocabulary": [...], "weights": {"dense": 1.0, "bm25": 0.5, "memory": 1.0},
                    "unfamiliar_weights": {"dense": 1.0, "bm25": 0.0},
                    "memory": {"threshold": 0.8, "questions": [...]}, "levers": {...}}
    memory.npy     the remembered questions' vectors, from that version's model

The answering `Retriever` is built with the profile's expansion step, its memory as an
extra ranked list and its fusion weights (its own for questions holding a word no document
uses, when the cycle chose them apart); a version without the file (the base model)
answers as before. Terms rejected with `argot glossary reject` are left out when the
profile is loaded, so a rejection takes effect on the next question.

Example:
    >>> profile = LearnedProfile.load(Path(version.path), rejected={"sparkles"})
    >>> Retriever(index, embedder, expansions=profile.expansions(),
    ...           rankers=profile.rankers(lookup), weights=profile.weights)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.search.memory import ChunkLookup, FeedbackMemory, MemoryRanker
from engine.search.vocabulary import Vocabulary

log = logging.getLogger(__name__)

PROFILE_FILE = "learned.json"
MEMORY_FILE = "memory.npy"
PLAIN_WEIGHTS = {"dense": 1.0, "bm25": 1.0}


@dataclass
class LearnedProfile:
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    memory: FeedbackMemory | None = None
    weights: dict[str, float] = field(default_factory=lambda: dict(PLAIN_WEIGHTS))
    """Fusion weights of "dense", "bm25" and (when there is a memory) "memory"."""
    unfamiliar_weights: dict[str, float] | None = None
    """Fusion weights of "dense" and "bm25" for a question holding a word no document uses
    (`engine.search.lexical.Bm25.unfamiliar`); None: `weights` for every question."""
    levers: dict[str, Any] = field(default_factory=dict)
    """What the cycle measured for each lever, for the report."""

    @property
    def empty(self) -> bool:
        return (not self.vocabulary and self.memory is None and self.weights == PLAIN_WEIGHTS
                and self.unfamiliar_weights is None)

    def expansions(self) -> list[Any]:
        return [self.vocabulary.expand] if self.vocabulary else []

    def rankers(self, lookup: ChunkLookup) -> list[Any]:
        from engine.search.retrieval import Weighted

        weight = self.weights.get("memory", 0.0)
        if self.memory is None or not len(self.memory) or weight <= 0:
            return []
        return [Weighted("memory", MemoryRanker(self.memory, lookup), weight)]

    def fusion_weights(self, unfamiliar: bool = False) -> dict[str, float]:
        """Dense and BM25 weights, for questions holding an unfamiliar word or the others."""
        weights = self.unfamiliar_weights if unfamiliar and self.unfamiliar_weights else self.weights
        return {"dense": weights.get("dense", 1.0), "bm25": weights.get("bm25", 1.0)}

    def save(self, folder: Path) -> Path:
        """Write learned.json (and memory.npy) into a version's folder, atomically."""
        folder.mkdir(parents=True, exist_ok=True)
        row: dict[str, Any] = {"vocabulary": self.vocabulary.as_rows(), "weights": self.weights,
                               "unfamiliar_weights": self.unfamiliar_weights,
                               "levers": self.levers, "memory": None}
        if self.memory is not None:
            row["memory"] = {"threshold": self.memory.threshold, "questions": self.memory.as_rows()}
            write_atomically(folder / MEMORY_FILE, lambda out: np.save(out, self.memory.vectors))
        write_atomically(folder / PROFILE_FILE,
                         lambda out: out.write(json.dumps(row, ensure_ascii=False, indent=1).encode()))
        return folder / PROFILE_FILE

    @classmethod
    def load(cls, folder: Path | None, rejected: Iterable[str] = ()) -> LearnedProfile:
        """The profile in `folder`; an empty one when there is none or it cannot be read
        (logged: answering as the base does beats not answering)."""
        if folder is None or not (Path(folder) / PROFILE_FILE).is_file():
            return cls()
        folder = Path(folder)
        try:
            row = json.loads((folder / PROFILE_FILE).read_text(encoding="utf-8"))
            memory = None
            if row.get("memory"):
                rows = row["memory"]["questions"]
                vectors = np.load(folder / MEMORY_FILE).astype(np.float32, copy=False)
                memory = FeedbackMemory([r["question"] for r in rows],
                                        [tuple(r["documents"]) for r in rows], vectors,
                                        float(row["memory"]["threshold"]))
            return cls(Vocabulary.from_rows(row.get("vocabulary") or []).without(rejected), memory,
                       _weights(row.get("weights")) or dict(PLAIN_WEIGHTS),
                       _weights(row.get("unfamiliar_weights")), dict(row.get("levers") or {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the learned profile in %s: %s", folder, exc)
            return cls()


def _weights(row: Any) -> dict[str, float] | None:
    return {str(k): float(v) for k, v in row.items()} if row else None


def write_atomically(path: Path, write: Any) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


REJECTED_FILE = "glossary-rejected.json"
"""In the registry folder (`ARGOT_HOME/models`), shared by every process that answers."""


def rejected_terms(registry_root: Path) -> set[str]:
    """Terms people rejected with `argot glossary reject`: never learnt or expanded again."""
    path = Path(registry_root) / REJECTED_FILE
    try:
        return {str(term) for term in json.loads(path.read_text(encoding="utf-8"))}
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", path, exc)
        return set()


def reject_term(registry_root: Path, term: str) -> set[str]:
    """Add `term` (lower-cased, spaces normalised) to the rejected terms; returns them all."""
    terms = rejected_terms(registry_root) | {" ".join(term.lower().split())}
    Path(registry_root).mkdir(parents=True, exist_ok=True)
    write_atomically(Path(registry_root) / REJECTED_FILE,
                     lambda out: out.write(json.dumps(sorted(terms), ensure_ascii=False).encode()))
    return terms


class ServedProfile:
    """A version's profile as answers use it, re-read when learned.json or the rejected
    terms change (checked at most every `recheck_seconds`), so `argot glossary reject`
    takes effect on the next question in every running bot."""

    def __init__(self, folder: Path | None, registry_root: Path, recheck_seconds: float = 5.0) -> None:
        self.folder = Path(folder) if folder else None
        self.registry_root = Path(registry_root)
        self.recheck_seconds = recheck_seconds
        self._stamp: tuple[float, ...] | None = None
        self._checked_at = float("-inf")
        self._profile = LearnedProfile()

    def current(self) -> LearnedProfile:
        import time

        now = time.monotonic()
        if now - self._checked_at >= self.recheck_seconds:
            self._checked_at = now
            stamp = tuple(_mtime(p) for p in self._watched())
            if stamp != self._stamp:
                self._profile = LearnedProfile.load(self.folder, rejected_terms(self.registry_root))
                self._stamp = stamp
        return self._profile

    def expand(self, query: Any) -> Any:
        return self.current().vocabulary.expand(query)

    def _watched(self) -> list[Path]:
        found = [self.registry_root / REJECTED_FILE]
        return found + ([self.folder / PROFILE_FILE] if self.folder else [])


class _FollowedMemory:
    """The served profile's memory as a ranker (the memory changes only with the version)."""

    def __init__(self, served: ServedProfile, lookup: ChunkLookup) -> None:
        self.served = served
        self.lookup = lookup

    def rank(self, query: Any, depth: int) -> list[Any]:
        memory = self.served.current().memory
        return MemoryRanker(memory, self.lookup).rank(query, depth) if memory is not None else []


def answering_retriever(index: Any, embedder: Any, mode: Any, folder: Path | None,
                        registry_root: Path) -> Any:
    """The `Retriever` that answers for one version: its model, its learnt vocabulary as
    the expansion step, its memory as an extra ranked list and its fusion weights."""
    from engine.search.memory import chunk_lookup
    from engine.search.retrieval import Retriever, Weighted

    served = ServedProfile(folder, registry_root)
    profile = served.current()
    retriever = Retriever(index, embedder, mode, expansions=[served.expand],
                          weights=profile.fusion_weights(),
                          unfamiliar_weights=profile.unfamiliar_weights)

    built: dict[int, Any] = {}

    def lookup(doc_id: str, channel: str | None) -> Any:
        bm25 = retriever.lexical.current()  # rebuilt when the collection changes
        if id(bm25) not in built:
            built.clear()
            built[id(bm25)] = chunk_lookup(bm25.chunks, bm25.visible)
        return built[id(bm25)](doc_id, channel)

    weight = profile.weights.get("memory", 0.0)
    if profile.memory is not None and weight > 0:
        retriever.rankers.append(Weighted("memory", _FollowedMemory(served, lookup), weight))
    return retriever


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
