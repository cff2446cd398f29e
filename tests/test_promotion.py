"""Putting a version into service and taking it back (fake embedder, real Chroma)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from engine.index import ChunkIndex, indexed_collections
from engine.learning.mining import ActiveCorpus
from engine.learning.promotion import (
    PromotionError,
    catch_up,
    clean_pending,
    prune,
    rollback,
    write_collection,
)
from engine.registry import ModelVersion
from engine.types import Document
from tests.fakes import FakeEmbedder

KB = [Document(f"glossary/t{n}", f"Term {n} means thing number {n} in our team.", title=f"T{n}")
      for n in range(12)]


@pytest.fixture
def active(services):
    services.ingestor().ingest(KB)
    return services.index()


def candidate(services, active, name: str = "ft0001") -> tuple[ChunkIndex, FakeEmbedder]:
    embedder = FakeEmbedder(dimension=64, model_id=name)
    corpus = ActiveCorpus.from_index(active)
    vectors = embedder.embed_documents([c.embedding_text for c in corpus.corpus.chunks])
    return write_collection(services.chroma, name, corpus, vectors), embedder


def test_the_candidate_collection_is_a_complete_copy_with_new_vectors(services, active):
    target, embedder = candidate(services, active)
    assert target.document_hashes() == active.document_hashes()
    assert target.count() == active.count()
    chunk, meta, vector = next(target.iter_vectors())
    assert meta == active.chunks_of(chunk.doc_id)[0][1]  # visibility and hashes carried over
    assert vector.shape == (64,)


def test_documents_ingested_during_the_cycle_are_caught_up_before_the_switch(services, active):
    target, embedder = candidate(services, active)
    services.ingestor().ingest([Document("glossary/new", "A term added while training ran.",
                                         title="New")])
    active.delete_document("glossary/t3")  # (`argot forget` would reach the candidate too)
    changed = Document("glossary/t4", "Term 4 now means something else.", title="T4")
    services.ingestor().ingest([changed])

    report = catch_up(active, target, embedder)
    assert sorted(report.updated) == ["glossary/new", "glossary/t4"]
    assert report.removed == ["glossary/t3"]
    assert target.document_hashes() == active.document_hashes()
    assert "now means" in target.chunks_of("glossary/t4")[0][0].text


def test_an_incomplete_copy_is_refused(services, active, monkeypatch):
    target, embedder = candidate(services, active)
    target.delete_document("glossary/t1")
    monkeypatch.setattr("engine.learning.promotion.sync_collection", lambda *a: __import__(
        "engine.learning.promotion", fromlist=["SyncReport"]).SyncReport())
    with pytest.raises(PromotionError, match="1 document missing") as refused:
        catch_up(active, target, embedder)
    assert "glossary/t1" not in str(refused.value)  # the reason may go to the ops channel


def test_leftovers_of_a_killed_cycle_are_removed_and_registered_versions_kept(services, active):
    registry = services.registry
    kept, _ = candidate(services, active, "ft0001")
    registry.publish(ModelVersion("ft0001", path=str(registry.root / "ft0001")))
    (registry.root / "ft0001").mkdir(parents=True, exist_ok=True)
    name, folder = registry.new_version_dir()
    candidate(services, active, name)
    temp = registry.root / ".registry-abandoned.json"
    temp.write_text("{")
    os.utime(temp, (time.time() - 3600, time.time() - 3600))

    cleaned = clean_pending(registry, services.chroma)
    assert sorted(cleaned) == sorted([f"folder {name}", f"collection {name}",
                                      "file .registry-abandoned.json"])
    assert not folder.exists() and not temp.exists()
    assert "ft0001" in indexed_collections(services.chroma) and (registry.root / "ft0001").exists()
    assert clean_pending(registry, services.chroma) == []


def test_rollback_brings_the_old_collection_up_to_date_first(services, active):
    registry = services.registry
    target, embedder = candidate(services, active)
    registry.publish(ModelVersion("ft0001", path=None))
    services._embedders["ft0001"] = embedder  # noqa: SLF001 - the fake stands in for a model
    # the bot ingests into the active (ft0001) collection after the switch
    services.ingestor().ingest([Document("glossary/late", "A term added after the switch.",
                                         title="Late")])
    assert "glossary/late" not in active.document_ids()

    version, synced = rollback(registry, services.chroma, services.index(), services.embedder)
    assert version.name == "base" and registry.active().name == "base"
    assert synced.updated == ["glossary/late"]
    hits = services.retriever().search("a term added after the switch", k=1, mode="dense")
    assert hits[0].doc_id == "glossary/late"


def test_old_versions_beyond_the_limit_are_pruned_but_never_the_active_or_previous(services,
                                                                                   active):
    registry = services.registry
    for n in range(1, 8):
        name = f"ft{n:04d}"
        folder = registry.root / name
        folder.mkdir(parents=True, exist_ok=True)
        candidate(services, active, name)
        registry.publish(ModelVersion(name, path=str(folder), created_at=float(n)))
    registry.promote("ft0001")  # an old one is active again; ft0007 is the previous
    removed = prune(registry, services.chroma, keep=3)
    assert removed == ["ft0002", "ft0003", "ft0004", "ft0005"]
    left = {v.name for v in registry.versions()}
    assert left == {"base", "ft0001", "ft0006", "ft0007"}
    assert not (registry.root / "ft0002").exists()
    assert "ft0002" not in indexed_collections(services.chroma)
    assert np.isfinite(registry.get("ft0007").created_at)
