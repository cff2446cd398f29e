"""The Chroma index, run against embedded Chroma and against a real `chroma run` server."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from engine.errors import IndexUnavailable
from engine.index import ChunkIndex, make_client, visibility_filter
from engine.knowledge.chunking import chunk_document
from engine.types import Document
from tests.fakes import FakeEmbedder
from tests.servers import chroma_server, free_port  # noqa: F401 - chroma_server is a fixture


@pytest.fixture(params=["embedded", "server"])
def client(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "embedded":
        return make_client(tmp_path / "home")
    host, port = request.getfixturevalue("chroma_server")
    return make_client(tmp_path, host, port)


def index_docs(index: ChunkIndex, *docs: Document) -> None:
    embedder = FakeEmbedder()
    for doc in docs:
        chunks = chunk_document(doc)
        index.replace_document(doc, chunks, embedder.embed_documents([c.embedding_text for c in chunks]))


def test_a_query_returns_chunks_that_remember_their_document(client, request) -> None:
    index = ChunkIndex(client, f"t-{request.node.callspec.id}-{time.time_ns()}")
    index_docs(index, Document(doc_id="a", title="Alpha", text="# Alpha\n\n## Part\n\nalpha beta",
                               url="https://wiki.example/a", source="kb/a.md"),
               Document(doc_id="b", title="Bravo", text="gamma delta"))
    [match] = index.query(FakeEmbedder().embed_query("Alpha Part alpha beta"), k=1)
    chunk = match.chunk
    assert (chunk.doc_id, chunk.title, chunk.heading, chunk.url, chunk.source, chunk.position) == \
        ("a", "Alpha", "Part", "https://wiki.example/a", "kb/a.md", 0)
    assert match.similarity > 0.9
    assert index.document_ids() == {"a", "b"}


def test_metadata_filters_limit_documents_to_their_channels(client, request) -> None:
    index = ChunkIndex(client, f"v-{request.node.callspec.id}-{time.time_ns()}")
    index_docs(index, Document(doc_id="open", text="shared words"),
               Document(doc_id="closed", text="shared words", channels=("G1",)))
    vector = FakeEmbedder().embed_query("shared words")
    assert {m.chunk.doc_id for m in index.query(vector, 5, visibility_filter("C9"))} == {"open"}
    assert {m.chunk.doc_id for m in index.query(vector, 5, visibility_filter("G1"))} == {"open", "closed"}


def test_each_write_moves_the_generation_on(client, request) -> None:
    index = ChunkIndex(client, f"g-{request.node.callspec.id}-{time.time_ns()}")
    before = index.fresh_generation()
    index_docs(index, Document(doc_id="a", text="one"))
    after_write = index.fresh_generation()
    index.delete_document("a")
    assert before < after_write < index.fresh_generation()
    assert index.count() == 0


def test_paging_through_many_chunks_sees_them_all(tmp_path: Path) -> None:
    index = ChunkIndex(make_client(tmp_path), "paging")
    docs = [Document(doc_id=f"d{n}", text=f"document number {n}") for n in range(120)]
    chunks = [c for d in docs for c in chunk_document(d)]
    index.upsert(chunks, np.asarray(FakeEmbedder().embed_documents([c.text for c in chunks])),
                 {d.doc_id: d for d in docs})
    assert len(list(index.iter_chunks(page=25))) == 120


def test_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexUnavailable, match=r"Chroma server at 127.0.0.1:\d+.*CHROMA_HOST"):
        make_client(tmp_path, "127.0.0.1", free_port())
