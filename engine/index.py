"""The vector index over Chroma: the only module that imports chromadb.

Each embedding model gets its own *collection* (cosine space), keyed by the embedder's
`model_id`, because the distance function and the model are fixed for a collection's
life; that is also what lets a new model be embedded beside the old one and switched to
without downtime. The Chroma collection itself is named `<prefix><collection>`.

Chunks carry their document's id, title, source, url, heading, position and content
hash, plus visibility: `public` or one `ch.<CHANNEL>` flag per channel allowed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import IndexUnavailable
from engine.types import Chunk, Document

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "argot-docs-"
SEARCH_EF = 400
"""HNSW's candidate list when searching. Chroma's default (100) lets a query miss one of
its 40 nearest chunks now and then, even at a few hundred chunks, so answers and
`argot eval` (exact) could differ; at 400 a collection of up to a few hundred chunks is
searched exhaustively and a large one loses well under a millisecond (docs/benchmarks.md)."""
GENERATION_KEY = "argot:generation"

_written: dict[str, int] = {}
"""Generations bumped by this process, per Chroma collection name: readers in this process
(the BM25 copy) see their own process's writes at once, other processes' within their
recheck interval."""
_written_lock = threading.Lock()


def make_client(home: Path, host: str | None = None, port: int | None = None) -> Any:
    """Embedded Chroma under ARGOT_HOME, or a Chroma server when a host is given."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if host:
            client = chromadb.HttpClient(host=host, port=port or 8000, settings=settings)
            client.heartbeat()
            return client
        home.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(home / "chroma"), settings=settings)
    except Exception as exc:
        where = f"Chroma server at {host}:{port or 8000}" if host else f"Chroma at {home / 'chroma'}"
        raise IndexUnavailable(f"Cannot reach {where}: {exc}. Check CHROMA_HOST / CHROMA_PORT "
                               "or that the server is running.") from exc


def chroma_name(collection: str, prefix: str = COLLECTION_PREFIX) -> str:
    """The Chroma collection's name for a collection key (Chroma allows 63 characters)."""
    return f"{prefix}{collection}"[:63].rstrip("-._")


def indexed_collections(client: Any) -> list[str]:
    """The collection keys of the text index (names cut at 63 characters stay cut)."""
    names = [getattr(c, "name", c) for c in client.list_collections()]
    return sorted(n.removeprefix(COLLECTION_PREFIX) for n in names if n.startswith(COLLECTION_PREFIX))


@dataclass(frozen=True)
class ChunkMatch:
    """A chunk that came back from a query, with its cosine similarity."""

    chunk: Chunk
    similarity: float
    metadata: dict[str, Any]


def visibility_filter(channel: str | None) -> dict[str, Any] | None:
    """Chroma `where` clause: public documents plus those allowed in `channel`."""
    if channel is None:
        return None
    return {"$or": [{"public": True}, {f"ch.{channel}": True}]}


def is_visible(metadata: dict[str, Any], channel: str | None) -> bool:
    return channel is None or bool(metadata.get("public")) or bool(metadata.get(f"ch.{channel}"))


class ChunkIndex:
    """One model's collection of chunks. Callers pass their own vectors."""

    def __init__(self, client: Any, collection: str, prefix: str = COLLECTION_PREFIX) -> None:
        """`collection` is the key (an embedder's `model_id`); `prefix` keeps other kinds
        of entries (images, CLIP texts) in Chroma collections of their own."""
        self.client = client
        self.collection = collection
        self.chroma_name = chroma_name(collection, prefix)
        try:
            self._collection = client.get_or_create_collection(
                self.chroma_name, embedding_function=None,
                metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF})
            _widen_search(self._collection)
        except Exception as exc:
            raise IndexUnavailable(f"Cannot open collection {self.chroma_name}: {exc}") from exc
        self._batch = max(1, min(int(client.get_max_batch_size()), 5000))

    @property
    def uuid(self) -> str:
        """Chroma's id of the collection: a collection deleted and made again has a new one."""
        return str(self._collection.id)

    # -- writing -------------------------------------------------------------------

    def replace_document(self, document: Document, chunks: Sequence[Chunk],
                         vectors: np.ndarray) -> None:
        self.replace_documents([(document, list(chunks))], vectors)

    def replace_documents(self, items: Sequence[tuple[Document, Sequence[Chunk]]],
                          vectors: np.ndarray) -> None:
        """Make the index hold exactly these chunks for each of these documents.

        The new chunks are written before the stale ones are removed, so a reader sees
        the old or the new version of a document, never none of it. One read, one
        batched write and one delete for the whole set keep ingest close to the speed
        of the model.
        """
        doc_ids = [document.doc_id for document, _ in items]
        old_ids: set[str] = set()
        for start in range(0, len(doc_ids), 500):
            old_ids.update(self._collection.get(where={"doc_id": {"$in": doc_ids[start:start + 500]}},
                                                include=[])["ids"])
        chunks = [chunk for _, doc_chunks in items for chunk in doc_chunks]
        self.upsert(chunks, vectors, {document.doc_id: document for document, _ in items})
        stale = old_ids - {chunk.chunk_id for chunk in chunks}
        if stale:
            self._collection.delete(ids=sorted(stale))

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray,
               documents: dict[str, Document]) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        for start in range(0, len(chunks), self._batch):
            part = chunks[start:start + self._batch]
            self._collection.upsert(
                ids=[chunk.chunk_id for chunk in part],
                embeddings=np.asarray(vectors[start:start + self._batch], dtype=np.float32),
                documents=[chunk.text for chunk in part],
                metadatas=[chunk_metadata(chunk, documents[chunk.doc_id]) for chunk in part],
            )
        self.bump_generation()

    def copy_from(self, chunks: Sequence[tuple[Chunk, dict[str, Any]]], vectors: np.ndarray,
                  *, bump: bool = True) -> None:
        """Write chunks with metadata taken as-is from another model's collection.

        `bump=False` leaves the generation alone (a caller writing many blocks bumps once)."""
        for start in range(0, len(chunks), self._batch):
            part = chunks[start:start + self._batch]
            self._collection.upsert(
                ids=[chunk.chunk_id for chunk, _ in part],
                embeddings=np.asarray(vectors[start:start + self._batch], dtype=np.float32),
                documents=[chunk.text for chunk, _ in part],
                metadatas=[metadata for _, metadata in part],
            )
        if bump:
            self.bump_generation()

    def delete_document(self, doc_id: str) -> int:
        ids = self._ids_of(doc_id)
        if ids:
            self._collection.delete(ids=ids)
            self.bump_generation()
        return len(ids)

    def drop(self) -> None:
        try:
            self.client.delete_collection(self.chroma_name)
        except Exception as exc:  # already gone is fine
            log.debug("dropping %s: %s", self.chroma_name, exc)

    # -- reading -------------------------------------------------------------------

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
              ) -> list[ChunkMatch]:
        """The `k` nearest chunks (fewer when the collection holds fewer). Chroma clamps
        `k` itself; counting first would cost more than the search (14 ms at 100k chunks)."""
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=max(1, k), where=where,
            include=["documents", "metadatas", "distances"])
        return [
            ChunkMatch(chunk_from(text, meta), 1.0 - float(distance), meta)
            for text, meta, distance in zip(result["documents"][0], result["metadatas"][0],
                                            result["distances"][0], strict=True)
        ]

    def nearest_ids(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
                    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `k` nearest chunks, without their texts and
        metadata: reading those back is most of a query's cost (docs/benchmarks.md)."""
        result = self._collection.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                        n_results=max(1, k), where=where, include=["distances"])
        return [(chunk_id, 1.0 - float(distance))
                for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)]

    def chunks_by_id(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        got = self._collection.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return {chunk_id: chunk_from(text or "", meta)
                for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    def count(self) -> int:
        return int(self._collection.count())

    def document_hashes(self) -> dict[str, str]:
        """doc_id → content hash, for skipping unchanged documents on re-ingest."""
        return {meta["doc_id"]: meta["content_hash"] for _, meta in self.iter_chunks(texts=False)}

    def document_ids(self) -> set[str]:
        return set(self.document_hashes())

    def chunks_of(self, doc_id: str) -> list[tuple[Chunk, dict[str, Any]]]:
        got = self._collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        pairs = [(chunk_from(text, meta), meta)
                 for text, meta in zip(got["documents"], got["metadatas"], strict=True)]
        return sorted(pairs, key=lambda pair: pair[0].position)

    def metadata_where(self, where: dict[str, Any], limit: int = 10) -> list[dict[str, Any]]:
        """The metadata of up to `limit` chunks matching a Chroma `where` (e.g. a url)."""
        return list(self._collection.get(where=where, limit=limit, include=["metadatas"])
                    ["metadatas"] or [])

    def iter_chunks(self, *, texts: bool = True, page: int = 5000
                    ) -> Iterator[tuple[Chunk, dict[str, Any]]]:
        include = ["documents", "metadatas"] if texts else ["metadatas"]
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=page, offset=offset)
            metas = got["metadatas"] or []
            if not metas:
                return
            docs = got["documents"] if texts else [""] * len(metas)
            for text, meta in zip(docs, metas, strict=True):
                yield chunk_from(text or "", meta), meta
            offset += len(metas)

    def iter_vectors(self, *, page: int = 2000
                     ) -> Iterator[tuple[Chunk, dict[str, Any], np.ndarray]]:
        """Every chunk with its stored vector (the learning loop mines and measures on them)."""
        offset = 0
        while True:
            got = self._collection.get(include=["documents", "metadatas", "embeddings"],
                                       limit=page, offset=offset)
            metas = got["metadatas"] or []
            if not metas:
                return
            for text, meta, vector in zip(got["documents"], metas, got["embeddings"], strict=True):
                yield chunk_from(text or "", meta), meta, np.asarray(vector, dtype=np.float32)
            offset += len(metas)

    def generation(self) -> int:
        """A number that changes whenever the collection's contents change."""
        metadata = self._collection.metadata or {}
        return int(metadata.get(GENERATION_KEY, 0))

    def fresh_generation(self) -> int:
        """The generation as stored now, seeing writes made by other processes."""
        self._collection = self.client.get_collection(self.chroma_name, embedding_function=None)
        return self.generation()

    def bump_generation(self) -> None:
        self.fresh_generation()
        metadata = dict(self._collection.metadata or {})
        metadata[GENERATION_KEY] = int(metadata.get(GENERATION_KEY, 0)) + 1
        for key in [key for key in metadata if key.startswith("hnsw:")]:
            del metadata[key]  # the index's settings are not Chroma metadata to modify
        self._collection.modify(metadata=metadata)
        with _written_lock:
            _written[self.chroma_name] = _written.get(self.chroma_name, 0) + 1

    def local_writes(self) -> int:
        """How many times this process has changed the collection (a counter in memory:
        no call to Chroma). A reader that saw another count must look again."""
        return _written.get(self.chroma_name, 0)

    def _ids_of(self, doc_id: str) -> list[str]:
        return list(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])


def _widen_search(collection: Any) -> None:
    """Raise the search candidate list of a collection made before SEARCH_EF."""
    try:
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or SEARCH_EF) < SEARCH_EF:
            collection.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
    except Exception as exc:  # an older server: searching still works, less exactly
        log.debug("cannot widen the search of %s: %s", collection.name, exc)


def chunk_metadata(chunk: Chunk, document: Document) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "doc_id": chunk.doc_id, "position": chunk.position, "title": chunk.title,
        "source": chunk.source, "url": chunk.url, "heading": chunk.heading,
        "content_hash": document.content_hash, "public": document.channels is None,
    }
    for channel in document.channels or ():
        metadata[f"ch.{channel}"] = True
    for key, value in document.metadata.items():
        scalar = value if isinstance(value, str | int | float | bool) else json.dumps(value)
        metadata[f"m.{key}"] = scalar
    return metadata


def chunk_from(text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(doc_id=meta["doc_id"], position=int(meta["position"]), text=text,
                 title=meta.get("title", ""), source=meta.get("source", ""),
                 url=meta.get("url", ""), heading=meta.get("heading", ""))
