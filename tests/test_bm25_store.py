"""BM25 is built once per collection generation and saved: the next process (a cold
`argot ask`, the bot) reads it from disk, and a change to the collection rebuilds it."""

from __future__ import annotations

import pytest

from bot.services import Services
from engine.index import ChunkIndex
from engine.knowledge.ingest import Ingestor
from engine.search import bm25store, lexical
from engine.search.lexical import LexicalIndex
from engine.types import Document
from tests.fakes import FakeEmbedder

DOCS = [Document("ops/rlq", "The RLQ is the rate limit queue for outbound webhooks.", title="RLQ"),
        Document("ops/gtq", "GTQ means the global task queue; the bosun drains it nightly.",
                 title="GTQ"),
        Document("hr/bonus", "Bonus figures for the webhooks team.", title="Bonus",
                 channels=("GHR",))]


def doc_ids(index: LexicalIndex, query: str, channel: str | None = None) -> list[str]:
    return [hit.chunk.doc_id for hit in index.search(query, 5, channel)]


@pytest.fixture
def index(services: Services) -> ChunkIndex:
    index = ChunkIndex(services.chroma, "bm25-store-test")
    Ingestor(index, FakeEmbedder()).ingest(DOCS)
    return index


def test_a_second_process_reads_the_saved_index_instead_of_building_one(
        index: ChunkIndex, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    first = LexicalIndex(index)
    built = doc_ids(first, "webhooks queue"), doc_ids(first, "webhooks bonus", "GHR")
    folder = bm25store.cache_folder(index)
    assert folder is not None
    assert [p.name for p in folder.iterdir()] == [bm25store.key(index, index.generation())]

    def no_building(texts: object) -> object:
        raise AssertionError("BM25 was rebuilt although a saved index is there")

    monkeypatch.setattr(lexical, "bm25_model", no_building)
    again = LexicalIndex(ChunkIndex(services.chroma, "bm25-store-test"))
    assert (doc_ids(again, "webhooks queue"), doc_ids(again, "webhooks bonus", "GHR")) == built
    assert "hr/bonus" not in doc_ids(again, "webhooks bonus", "CGENERAL")


def test_a_changed_collection_is_rebuilt_and_the_old_generation_removed(
        index: ChunkIndex, services: Services) -> None:
    doc_ids(LexicalIndex(index), "queue")
    before = bm25store.key(index, index.generation())
    Ingestor(index, FakeEmbedder()).ingest(
        [Document("ops/kiln", "The kiln queue bakes release images.", title="Kiln")])
    fresh = LexicalIndex(ChunkIndex(services.chroma, "bm25-store-test"))
    assert "ops/kiln" in doc_ids(fresh, "kiln queue")
    folder = bm25store.cache_folder(index)
    assert folder is not None
    names = [p.name for p in folder.iterdir()]
    assert before not in names and bm25store.key(index, index.generation()) in names


def test_an_unreadable_saved_index_is_rebuilt(index: ChunkIndex, services: Services) -> None:
    doc_ids(LexicalIndex(index), "queue")
    folder = bm25store.cache_folder(index)
    assert folder is not None
    saved = folder / bm25store.key(index, index.generation())
    (saved / bm25store.CHUNKS_FILE).write_text("{not json\n")
    again = LexicalIndex(ChunkIndex(services.chroma, "bm25-store-test"))
    assert doc_ids(again, "rate limit queue")[0] == "ops/rlq"
    assert bm25store.load(folder, saved.name) is not None, "saved again, readable this time"
