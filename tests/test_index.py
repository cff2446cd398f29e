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


def test_dense_search_finds_the_exact_nearest_chunks_of_a_small_collection(client, request) -> None:
    """Answers and `argot eval` (exact) must rank alike: HNSW may not drop a near chunk.
    (Sparse vectors, like hashed words, are hard for HNSW: with Chroma's default search
    width a few of these queries usually miss one of their 40 nearest chunks.)"""
    from engine.index import SEARCH_EF
    from engine.types import Chunk

    for seed in range(4):  # HNSW builds in parallel threads: its misses come and go
        index = ChunkIndex(client, f"exact-{seed}-{request.node.callspec.id}-{time.time_ns()}")
        rng = np.random.default_rng(seed)
        vectors = np.zeros((380, 96), dtype=np.float32)
        for row in vectors:
            row[rng.choice(96, size=5, replace=False)] = rng.random(5) + 0.1
        vectors += 1e-3
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        chunks = [Chunk(doc_id=f"d{i}", position=0, text=f"chunk {i}") for i in range(len(vectors))]
        index.upsert(chunks, vectors, {c.doc_id: Document(doc_id=c.doc_id, title=c.doc_id, text=c.text)
                                       for c in chunks})
        for query in vectors:
            nearest = np.sort(vectors @ query)[::-1][:40]
            found = np.array([m.similarity for m in index.query(query, 40)])
            assert np.allclose(found, nearest, atol=1e-4)
    assert index._collection.configuration["hnsw"]["ef_search"] == SEARCH_EF


def test_a_collection_made_before_the_wider_search_is_widened(tmp_path: Path) -> None:
    from engine.index import SEARCH_EF, chroma_name

    client = make_client(tmp_path / "home")
    client.create_collection(chroma_name("old"), embedding_function=None, metadata={"hnsw:space": "cosine"})
    ChunkIndex(client, "old")
    assert client.get_collection(chroma_name("old")).configuration["hnsw"]["ef_search"] == SEARCH_EF
