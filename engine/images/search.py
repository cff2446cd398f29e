"""Image search: pictures and documents in CLIP's space, queried with a picture.

Two collections per CLIP model, both through `engine.index.ChunkIndex`:

- `argot-images-<clip model_id>`: one entry per picture, tied to its document, with
  the words around it as its text (engine/images/links.py decides which is which);
- `argot-cliptext-<clip model_id>`: every document's chunks embedded by CLIP's text
  tower, so a picture can find documents that have no pictures at all.

A query picture is embedded once and looked up in both. The text collection ranks
documents by what they say; the picture collection by what their pictures look like.
The two cosines are not on one scale (picture-to-picture similarities run far higher
than picture-to-text ones), so they are fused by rank (RRF), like the text hybrid —
but a picture match only takes part when it really looks alike
(`LOOKS_ALIKE`): with a handful of pictures in the index, the nearest one is
nearest only because it is the only one, and must not outrank the document that
explains what was posted.

Example:
    >>> search = ImageSearch(client, ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k"))
    >>> search.ingest(collected.documents, collected.images)
    >>> search.search(decode_image(data), k=3).hits[0].doc_id
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.images.clip import ClipEmbedder, ClipTextEmbedder, ImagesUnavailable
from engine.images.decoding import DecodedImage
from engine.images.entries import decode_pictures, picture_entry
from engine.images.links import group_images
from engine.index import ChunkIndex, visibility_filter
from engine.knowledge.ingest import Ingestor
from engine.search.fusion import FUSION_DEPTH, fuse
from engine.search.ranking import RankedChunk, best_per_document, to_hit
from engine.search.retrieval import CHUNKS_PER_DOC
from engine.types import Chunk, Document, Hit

log = logging.getLogger(__name__)

IMAGES_PREFIX = "argot-images-"
TEXTS_PREFIX = "argot-cliptext-"
LOOKS_ALIKE = 0.90
"""Picture-to-picture cosine from which two pictures count as showing the same thing.
Near-copies (the same diagram re-exported, another screenshot of the same dashboard)
score above 0.9 with ViT-B-32; two different charts of one kind around 0.8, unrelated
pictures 0.4–0.7. Below the bar, the documents' words decide."""
WRITE_BLOCK = 32
"""Pictures decoded and embedded together before they are written."""
REMEMBERED_QUERIES = 512
"""Query vectors kept by image hash, so a 👎 can bring alternatives without the picture."""

Progress = Callable[[int, int], None]


@dataclass
class ImageIngestReport:
    images: int = 0
    unchanged: int = 0
    documents: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.images} images indexed, {self.unchanged} unchanged, "
                f"{self.documents} documents embedded for image search"
                + (f", {len(self.errors)} image errors" if self.errors else ""))


@dataclass(frozen=True)
class ImageAnswer:
    """The documents that match a picture, and what a caller records about the query."""

    question: str
    """`image:sha256:<hex>`: what the feedback store keeps as the question."""
    model_id: str
    """The CLIP model's `model_id`: what ranked the hits."""
    hits: list[Hit]


class ImageSearch:
    """Indexes pictures and documents for one CLIP model and answers picture queries.

    Args:
        client: the Chroma client the text index uses.
        clip: the CLIP model; None when image search is turned off (`none`).
        looks_alike: see `LOOKS_ALIKE`.
    """

    def __init__(self, client: Any, clip: ClipEmbedder | None, *,
                 looks_alike: float = LOOKS_ALIKE) -> None:
        self.client = client
        self.clip = clip
        self.looks_alike = looks_alike
        self._lock = threading.Lock()
        self._indexes: tuple[ChunkIndex, ChunkIndex] | None = None
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- availability --------------------------------------------------------------------

    def require(self) -> ClipEmbedder:
        """The loaded CLIP model, or `ImagesUnavailable` saying why there is none."""
        if self.clip is None:
            raise ImagesUnavailable("image search is turned off (ARGOT_CLIP_MODEL=none)")
        self.clip.load()
        return self.clip

    def available(self) -> bool:
        try:
            self.require()
        except ImagesUnavailable:
            return False
        return True

    def start(self) -> bool:
        """Load the model now and log one line saying whether image search is on."""
        try:
            clip = self.require()
        except ImagesUnavailable as exc:
            log.warning("image search is off: %s", exc)
            return False
        log.info("image search is on: %s, %d dimensions", clip.description, clip.dimension)
        return True

    @property
    def model_id(self) -> str:
        return self.require().model_id

    def indexes(self) -> tuple[ChunkIndex, ChunkIndex]:
        """(pictures, document texts) for this CLIP model; opening them does not load it."""
        if self.clip is None:
            raise ImagesUnavailable("image search is turned off (ARGOT_CLIP_MODEL=none)")
        clip = self.clip
        with self._lock:
            if self._indexes is None:
                self._indexes = (ChunkIndex(self.client, clip.model_id, IMAGES_PREFIX),
                                 ChunkIndex(self.client, clip.model_id, TEXTS_PREFIX))
            return self._indexes

    # -- indexing ------------------------------------------------------------------------

    def ingest(self, documents: Sequence[Document], image_files: Sequence[tuple[Path, str]] = (),
               progress: Progress | None = None) -> ImageIngestReport:
        """Keep both collections in step with these documents and image files.

        Unchanged documents and pictures (same text, same image bytes) are not
        embedded again; a picture that cannot be read is reported and skipped, and
        the rest of its document's pictures are still indexed.
        """
        clip = self.require()
        pictures, texts = self.indexes()
        report = ImageIngestReport()
        groups = group_images(documents, image_files)
        given = {document.doc_id for document in documents}
        stand_ins = [g.document for g in groups if g.document.doc_id not in given]
        text_report = Ingestor(texts, ClipTextEmbedder(clip)).ingest([*documents, *stand_ins])
        report.documents = len(text_report.added) + len(text_report.updated)

        known = pictures.document_hashes()
        pending: list[tuple[Document, list[Chunk], list[DecodedImage]]] = []
        total = sum(len(g.images) for g in groups)
        done = 0
        for group in groups:
            entry, files = picture_entry(group, report.errors)
            done += len(group.images)
            if known.get(entry.doc_id) == entry.content_hash:
                report.unchanged += len(files)
                continue
            chunks, decoded = decode_pictures(entry, files, report.errors)
            if not chunks:
                if entry.doc_id in known:
                    pictures.delete_document(entry.doc_id)
                continue
            pending.append((entry, chunks, decoded))
            if sum(len(c) for _, c, _ in pending) >= WRITE_BLOCK:
                report.images += self._write(pictures, pending)
                pending = []
                if progress:
                    progress(done, total)
        report.images += self._write(pictures, pending)
        if progress and total:
            progress(total, total)
        # A document that no longer shows any picture leaves the picture collection.
        grouped = {g.document.doc_id for g in groups}
        for document in documents:
            if document.doc_id in known and document.doc_id not in grouped:
                pictures.delete_document(document.doc_id)
        return report

    def _write(self, pictures: ChunkIndex,
               pending: list[tuple[Document, list[Chunk], list[DecodedImage]]]) -> int:
        if not pending:
            return 0
        clip = self.require()
        vectors = clip.embed_images([p.image for _, _, decoded in pending for p in decoded])
        start = 0
        for entry, chunks, _ in pending:
            pictures.replace_document(entry, chunks, vectors[start:start + len(chunks)])
            start += len(chunks)
        return start

    def forget(self, doc_id: str) -> int:
        """Remove a document's pictures and CLIP text entries (the model need not load);
        how many entries were removed."""
        if self.clip is None:
            return 0
        return sum(index.delete_document(doc_id) for index in self.indexes())

    # -- searching -----------------------------------------------------------------------

    def search(self, picture: DecodedImage, k: int = 5, *, channel: str | None = None,
               exclude: Iterable[str] = ()) -> ImageAnswer:
        """The k documents that best match a picture, visible in `channel` (None: all)."""
        clip = self.require()
        vector = clip.embed_images([picture.image])[0]
        self._remember(picture.question, vector)
        return ImageAnswer(picture.question, clip.model_id,
                           self.search_vector(vector, k, channel=channel, exclude=exclude))

    def search_again(self, question: str, k: int, *, channel: str | None = None,
                     exclude: Iterable[str] = ()) -> list[Hit]:
        """More documents for an image question asked before (by `question`), if this
        process still remembers its picture; [] otherwise."""
        with self._lock:
            vector = self._queries.get(question)
        if vector is None:
            return []
        return self.search_vector(vector, k, channel=channel, exclude=exclude)

    def search_vector(self, vector: np.ndarray, k: int, *, channel: str | None = None,
                      exclude: Iterable[str] = ()) -> list[Hit]:
        pictures, texts = self.indexes()
        excluded = set(exclude)
        depth = max(k + len(excluded), FUSION_DEPTH)
        where = visibility_filter(channel)
        alike = [RankedChunk(m.chunk, m.similarity)
                 for m in pictures.query(vector, depth * CHUNKS_PER_DOC, where)
                 if m.similarity >= self.looks_alike]
        described = [RankedChunk(m.chunk, m.similarity)
                     for m in texts.query(vector, depth * CHUNKS_PER_DOC, where)]
        rankings = [ranking for ranking in (best_per_document(alike, depth),
                                            best_per_document(described, depth)) if ranking]
        fused = fuse([(ranking, 1.0) for ranking in rankings], depth) if rankings else []
        return [to_hit(item) for item in fused if item.chunk.doc_id not in excluded][:k]

    def _remember(self, question: str, vector: np.ndarray) -> None:
        with self._lock:
            self._queries[question] = vector
            self._queries.move_to_end(question)
            while len(self._queries) > REMEMBERED_QUERIES:
                self._queries.popitem(last=False)
