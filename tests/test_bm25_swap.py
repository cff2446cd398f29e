"""BM25 under concurrent re-ingest: a search never checks one chunk's visibility against
another chunk's metadata (the index swaps chunks and visibility as one object)."""

from __future__ import annotations

import threading

from engine.index import ChunkIndex
from engine.knowledge.ingest import Ingestor
from engine.search.lexical import LexicalIndex
from engine.types import Document
from tests.fakes import FakeEmbedder

SECRET = Document("hr/salaries", "Payroll salaries bonus figures for every engineer.",
                  title="Salaries", channels=("GHR",))


def filler(round_: int) -> list[Document]:
    """Public documents whose number changes every round, so chunk rows shift."""
    return [Document(f"pub/{round_}/{i}", f"Payroll calendar note {i}: salaries are paid monthly.",
                     title=f"Note {i}") for i in range(round_ % 7 + 1)]


def test_a_private_chunk_never_shows_in_a_public_search_while_the_index_changes(services) -> None:
    index = ChunkIndex(services.chroma, "swap-test")
    ingestor = Ingestor(index, FakeEmbedder())
    ingestor.ingest([SECRET, *filler(0)])
    lexical = LexicalIndex(index, recheck_seconds=0)
    done = threading.Event()
    leaks: list[str] = []
    searches = [0]

    def search() -> None:
        while not done.is_set():
            hits = lexical.search("payroll salaries bonus figures", 10, "CGENERAL")
            leaks.extend(hit.chunk.doc_id for hit in hits if hit.chunk.doc_id == SECRET.doc_id)
            searches[0] += 1

    readers = [threading.Thread(target=search) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(1, 25):
            for doc_id in [d.doc_id for d in filler(round_ - 1)]:
                ingestor.forget(doc_id)
            ingestor.ingest(filler(round_))
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert searches[0] > 0 and leaks == []
    assert [hit.chunk.doc_id for hit in lexical.search("bonus figures", 3, "GHR")][0] == SECRET.doc_id
