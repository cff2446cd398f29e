"""Ingesting into the real embedded Chroma with a fake embedder."""

from __future__ import annotations

import pytest

from bot.services import Services
from engine.types import Document
from tests.fakes import FakeEmbedder

PHOENIX = Document(doc_id="services/phoenix", title="Project Phoenix",
                   text="# Project Phoenix\n\nPhoenix is the billing service.\n\n## On-call\n\n"
                        "The Plumbers carry the pager for Phoenix.")
HERON = Document(doc_id="services/heron", title="Heron", text="Heron is the parcel routing engine.")


def test_reingesting_unchanged_documents_embeds_nothing(services: Services,
                                                        fake_embedder: FakeEmbedder) -> None:
    first = services.ingestor().ingest([PHOENIX, HERON])
    assert (len(first.added), first.chunks) == (2, 3)
    calls = len(fake_embedder.calls)
    again = services.ingestor().ingest([PHOENIX, HERON])
    assert again.unchanged == ["services/phoenix", "services/heron"] and again.chunks == 0
    assert len(fake_embedder.calls) == calls


def test_a_changed_document_replaces_all_its_old_chunks(services: Services) -> None:
    services.ingestor().ingest([PHOENIX])
    shorter = Document(doc_id=PHOENIX.doc_id, title="Project Phoenix", text="Phoenix bills customers.")
    report = services.ingestor().ingest([shorter])
    assert report.updated == ["services/phoenix"]
    chunks = services.index().chunks_of("services/phoenix")
    assert [c.text for c, _ in chunks] == ["Phoenix bills customers."]


def test_forget_removes_a_document_and_every_chunk(services: Services) -> None:
    services.ingestor().ingest([PHOENIX, HERON])
    assert services.ingestor().forget("services/phoenix") == 2
    assert services.index().document_ids() == {"services/heron"}
    assert services.ingestor().forget("services/phoenix") == 0


def test_a_failing_embedder_leaves_the_index_as_it_was(services: Services,
                                                       fake_embedder: FakeEmbedder,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    services.ingestor().ingest([PHOENIX])

    def broken(texts, kind):  # noqa: ANN001
        raise RuntimeError("model crashed")

    monkeypatch.setattr(fake_embedder, "embed_batch", broken)
    changed = Document(doc_id=PHOENIX.doc_id, title="Project Phoenix", text="Rewritten.")
    with pytest.raises(RuntimeError):
        services.ingestor().ingest([changed, HERON])
    assert services.index().document_ids() == {"services/phoenix"}
    assert "billing" in services.index().chunks_of("services/phoenix")[0][0].text


def test_progress_is_reported_in_chunks(services: Services) -> None:
    seen: list[tuple[int, int]] = []
    services.ingestor().ingest([PHOENIX, HERON], progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)
