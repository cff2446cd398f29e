"""Putting documents into the index: chunk, embed what changed, write per document.

Unchanged documents (same content hash) are not embedded again. A document's chunks
are embedded before anything of it is written, so a failure leaves the index as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine.embedders import TextEmbedder
from engine.index import ChunkIndex
from engine.knowledge.chunking import chunk_document
from engine.types import Chunk, Document
from engine.visibility import follow_visibility, forget_everywhere

log = logging.getLogger(__name__)

EMBED_BLOCK = 2048
"""Chunks embedded per block: large enough to keep the model busy, small enough to
show progress and bound memory on a 100,000-chunk corpus."""

Progress = Callable[[int, int], None]


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {self.chunks} chunks embedded"
                + (f", {len(self.errors)} errors" if self.errors else ""))


class Ingestor:
    """Keeps one index version in step with the documents it is given."""

    def __init__(self, index: ChunkIndex, embedder: TextEmbedder) -> None:
        self.index = index
        self.embedder = embedder

    def ingest(self, documents: Sequence[Document], progress: Progress | None = None
               ) -> IngestReport:
        report = IngestReport()
        known = self.index.document_hashes()
        changed: list[Document] = []
        for document in documents:
            if known.get(document.doc_id) == document.content_hash:
                report.unchanged.append(document.doc_id)
            else:
                changed.append(document)
                (report.updated if document.doc_id in known else report.added).append(
                    document.doc_id)
        total = 0
        blocks = list(self._blocks(changed))
        total_chunks = sum(len(chunks) for block in blocks for _, chunks in block)
        for block in blocks:
            chunks = [chunk for _, doc_chunks in block for chunk in doc_chunks]
            vectors = self.embedder.embed_documents([chunk.embedding_text for chunk in chunks])
            self.index.replace_documents(block, vectors)
            total += len(chunks)
            if progress:
                progress(total, total_chunks)
        report.chunks = total
        # Other collections (older models, CLIP ones while image search is off) are not
        # re-embedded here, but must not keep showing a document where it may no longer go.
        follow_visibility(self.index.client, changed, skip=[self.index.chroma_name])
        return report

    def _blocks(self, documents: Sequence[Document]):
        block: list[tuple[Document, list[Chunk]]] = []
        size = 0
        for document in documents:
            chunks = chunk_document(document)
            if not chunks:
                continue
            block.append((document, chunks))
            size += len(chunks)
            if size >= EMBED_BLOCK:
                yield block
                block, size = [], 0
        if block:
            yield block

    def forget(self, doc_id: str) -> int:
        """Remove a document from every collection, whichever model or CLIP made it."""
        return forget_everywhere(self.index.client, doc_id)
