"""What the picture collection holds for a document: one entry, one chunk per picture.

An entry's content hash covers every picture's bytes and the words around it, so an
unchanged document's pictures are neither decoded nor embedded again. A picture that
cannot be read or decoded is named in `errors` and left out; the others still count.
"""

from __future__ import annotations

import hashlib

from engine.images.decoding import MAX_IMAGE_BYTES, DecodedImage, ImageRejected, decode_image, size_text
from engine.images.links import DocumentImages, ImageRef
from engine.types import Chunk, Document


def picture_entry(group: DocumentImages, errors: list[str]
                  ) -> tuple[Document, list[tuple[ImageRef, bytes]]]:
    """The picture collection's entry for a document, and the bytes of its pictures."""
    document = group.document
    files: list[tuple[ImageRef, bytes]] = []
    digest = hashlib.sha256()
    for ref in group.images:
        try:
            size = ref.path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise ImageRejected(f"{size_text(size)} is over the "
                                    f"{size_text(MAX_IMAGE_BYTES)} limit for one image")
            data = ref.path.read_bytes()
        except (OSError, ImageRejected) as exc:
            errors.append(f"{ref.path}: {getattr(exc, 'strerror', None) or exc}")
            continue
        files.append((ref, data))
        digest.update(f"{ref.context}\x00{ref.heading}\x00".encode())
        digest.update(hashlib.sha256(data).digest())
    entry = Document(doc_id=document.doc_id, text=document.title, title=document.title,
                     source=document.source, url=document.url,
                     metadata={"pictures": digest.hexdigest()[:16]}, channels=document.channels)
    return entry, files


def decode_pictures(entry: Document, files: list[tuple[ImageRef, bytes]], errors: list[str]
                    ) -> tuple[list[Chunk], list[DecodedImage]]:
    """One chunk (the words around the picture) and one decoded image per readable picture."""
    chunks: list[Chunk] = []
    decoded: list[DecodedImage] = []
    for ref, data in files:
        try:
            picture = decode_image(data)
        except ImageRejected as exc:
            errors.append(f"{ref.path}: {exc}")
            continue
        chunks.append(Chunk(doc_id=entry.doc_id, position=len(chunks),
                            text=ref.context or entry.title, title=entry.title,
                            source=entry.source, url=entry.url, heading=ref.heading))
        decoded.append(picture)
    return chunks, decoded
