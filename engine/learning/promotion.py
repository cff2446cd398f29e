"""Putting a model version into service without downtime, and taking it back.

A candidate is "pending" until the registry says otherwise: its folder under
`models/` and its collection exist, but no registry entry points at them. The protocol:

1. embed every chunk of the active collection with the candidate, into the
   candidate's own collection (the active one keeps answering meanwhile);
2. catch up with documents ingested or forgotten during the cycle (`sync_collection`)
   and check that the two collections hold the same documents with the same hashes;
3. register and activate the version in one atomic write of registry.json.

A cycle killed anywhere before 3 leaves only pending things, which `clean_pending`
removes when the next cycle starts; killed after 3, the new version is complete. A
question being answered during the switch finishes on the old collection, which is
kept (with the old model) for `argot models rollback`.

One rule names collections: a model's collection is keyed by its embedder's `model_id`,
and a fine-tuned version's `model_id` is its registry name (`bot.services` builds it so).
That is why the pending and pruned collections below can be found by registry name.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.embedders import TextEmbedder
from engine.errors import ArgotError
from engine.index import ChunkIndex, indexed_collections
from engine.learning.mining import ActiveCorpus
from engine.registry import ModelRegistry, ModelVersion

log = logging.getLogger(__name__)

WRITE_BLOCK = 32
"""Chunks per write. Embedded Chroma's SQLite blocks readers while a write commits, so an
answer can wait for a whole write: 256-chunk writes stalled queries up to 540 ms, 32-chunk
writes up to 90 ms (bench/write_contention.py)."""
WRITE_PAUSE = 0.02
"""The least pause between writes; the pause is at least as long as the write took, so the
writer holds the database at most half the time."""
SYNC_ROUNDS = 3
KEEP_VERSIONS = 5
"""Fine-tuned versions kept for rollback (a MiniLM version is ~90 MB plus its collection)."""


class PromotionError(ArgotError):
    """The candidate's collection is not a complete copy; nothing was switched."""


@dataclass
class SyncReport:
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def is_candidate_name(name: str) -> bool:
    return name.startswith("ft") and name[2:6].isdigit()


def clean_pending(registry: ModelRegistry, client: Any) -> list[str]:
    """Remove what a killed cycle left: unregistered candidate folders and collections,
    and registry files half-written by a writer that died before its rename."""
    cleaned: list[str] = []
    for folder in registry.unregistered_dirs():
        shutil.rmtree(folder, ignore_errors=True)
        cleaned.append(f"folder {folder.name}")
    registered = {v.name for v in registry.versions()}
    for collection in indexed_collections(client):
        if is_candidate_name(collection) and collection not in registered:
            ChunkIndex(client, collection).drop()
            cleaned.append(f"collection {collection}")
    for temp in registry.stale_temp_files():
        temp.unlink(missing_ok=True)
        cleaned.append(f"file {temp.name}")
    if cleaned:
        log.warning("cleaned up after an interrupted cycle: %s", ", ".join(cleaned))
    return cleaned


def prune(registry: ModelRegistry, client: Any, keep: int = KEEP_VERSIONS) -> list[str]:
    """Remove the oldest fine-tuned versions beyond `keep`, never the active one nor the
    one a plain rollback would go back to; folders and collections go with them."""
    active = registry.active().name
    history = [name for name in registry.history() if name != active]
    protected = {active, *history[-1:]}
    tuned = sorted((v for v in registry.versions() if is_candidate_name(v.name)),
                   key=lambda v: v.created_at)
    removed: list[str] = []
    for version in tuned:
        if len(tuned) - len(removed) <= keep:
            break
        if version.name in protected:
            continue
        registry.forget(version.name)
        ChunkIndex(client, version.name).drop()
        if version.path:
            shutil.rmtree(version.path, ignore_errors=True)
        removed.append(version.name)
    return removed


def write_collection(client: Any, collection: str, corpus: ActiveCorpus, vectors: np.ndarray,
                     checkpoint: Callable[[str], None] = lambda _: None) -> ChunkIndex:
    """A fresh `collection` (the candidate embedder's `model_id`) holding the corpus's
    chunks with new vectors."""
    if len(vectors) != len(corpus.corpus.chunks):
        raise PromotionError(f"{len(vectors)} vectors for {len(corpus.corpus.chunks)} chunks")
    ChunkIndex(client, collection).drop()  # a leftover of the same name is never reused
    index = ChunkIndex(client, collection)
    chunks = [(chunk, corpus.metadata[chunk.chunk_id]) for chunk in corpus.corpus.chunks]
    for start in range(0, len(chunks), WRITE_BLOCK):
        began = time.monotonic()
        index.copy_from(chunks[start:start + WRITE_BLOCK], vectors[start:start + WRITE_BLOCK],
                        bump=False)
        checkpoint("reembed")
        time.sleep(max(WRITE_PAUSE, time.monotonic() - began))
    index.bump_generation()
    return index


def sync_collection(source: ChunkIndex, target: ChunkIndex, embedder: TextEmbedder) -> SyncReport:
    """Make `target` hold what `source` holds now, embedding changed documents with
    `embedder` (the target's model). Documents whose hash matches are not touched."""
    report = SyncReport()
    wanted = source.document_hashes()
    have = target.document_hashes()
    for doc_id, content_hash in wanted.items():
        if have.get(doc_id) == content_hash:
            continue
        chunks = source.chunks_of(doc_id)
        if not chunks:
            continue  # forgotten between the two reads
        vectors = embedder.embed_documents([chunk.embedding_text for chunk, _ in chunks])
        target.delete_document(doc_id)
        target.copy_from(chunks, vectors)
        report.updated.append(doc_id)
    for doc_id in set(have) - set(wanted):
        target.delete_document(doc_id)
        report.removed.append(doc_id)
    return report


def catch_up(source: ChunkIndex, target: ChunkIndex, embedder: TextEmbedder) -> SyncReport:
    """Sync until a round changes nothing, then check the copy is complete."""
    total = SyncReport()
    for _ in range(SYNC_ROUNDS):
        round_ = sync_collection(source, target, embedder)
        total.updated += round_.updated
        total.removed += round_.removed
        if not round_.updated and not round_.removed:
            break
    problems = differences(source, target)
    if problems:
        raise PromotionError(f"The new collection {target.collection} is not complete: "
                             f"{tally(problems)}. The active model stays; run the "
                             "cycle again when ingestion is quiet.")
    return total


def tally(problems: list[str]) -> str:
    """'2 documents missing, 1 stale': counts, never ids (the reason goes to the ops
    channel, which may not see every document)."""
    counts: dict[str, int] = {}
    for problem in problems:
        kind = problem.rsplit(" ", 1)[-1] if problem.endswith(("missing", "extra", "stale")) else ""
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{n} document{'s' * (n != 1)} {kind}" for kind, n in counts.items() if kind]
    return ", ".join(parts + (["chunk counts differ"] if "" in counts else []))


def differences(source: ChunkIndex, target: ChunkIndex) -> list[str]:
    wanted, have = source.document_hashes(), target.document_hashes()
    problems = [f"{doc} missing" for doc in sorted(set(wanted) - set(have))]
    problems += [f"{doc} extra" for doc in sorted(set(have) - set(wanted))]
    problems += [f"{doc} stale" for doc in sorted(wanted) if doc in have and have[doc] != wanted[doc]]
    if not problems and source.count() != target.count():
        problems.append(f"{target.count()} chunks, the active collection has {source.count()}")
    return problems


def rollback(registry: ModelRegistry, client: Any, active_index: ChunkIndex,
             embedder_for: Callable[[ModelVersion], TextEmbedder],
             name: str | None = None) -> tuple[ModelVersion, SyncReport]:
    """Make an earlier version active again (`name`, or the one active before the current
    one), its collection first brought up to date with documents ingested since it was
    last active. The one rollback: `argot models rollback` calls it."""
    target_version = registry.get(name or registry.previous())
    embedder = embedder_for(target_version)
    target = ChunkIndex(client, embedder.model_id)
    report = catch_up(active_index, target, embedder)
    return registry.promote(target_version.name), report
