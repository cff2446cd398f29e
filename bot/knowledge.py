"""Putting collected documents into every index Argot answers from.

`argot ingest` and the playground's demo knowledge base both go through `ingest`: the
text index of the active model, then, when image search is on, the pictures and every
document's CLIP text embedding (what a picture question is matched against).

Example:
    >>> report = ingest(services, collect(["docs/"]), say=print)
    >>> report.errors
    []
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services import Services
    from engine.knowledge.ingest import IngestReport
    from engine.knowledge.sources import Collected


def ingest(services: Services, collected: Collected, say: Callable[[str], None]) -> IngestReport:
    """Text chunks, then pictures and CLIP texts; errors of both end up in the report."""
    report = services.ingestor().ingest(
        collected.documents, progress=lambda done, total: say(f"embedded {done}/{total} chunks"))
    report.errors.extend(ingest_images(services, collected, say))
    return report


def ingest_images(services: Services, collected: Collected, say: Callable[[str], None]) -> list[str]:
    """Pictures (image files, and images the documents link) and every document's CLIP
    text embedding go to the image index when image search is on; returns the errors."""
    from engine.images.clip import ImagesUnavailable

    images = collected.images
    if not services.settings.images_enabled:
        if images:
            say(f"note: {len(images)} image files not indexed: image search is turned off "
                "(ARGOT_CLIP_MODEL=none)")
        return []
    try:
        report = services.images.ingest(
            collected.documents, images,
            progress=lambda done, total: say(f"embedded {done}/{total} images"))
    except ImagesUnavailable as exc:
        say(f"note: image search is off, images and CLIP text embeddings were not indexed: {exc}")
        return []
    for error in report.errors:
        say(f"error: {error}")
    say(report.summary())
    return report.errors
