"""A document restricted or forgotten while image search is off does not stay findable by picture.

The attack: a page is public and indexed with image search on; then, with image search
turned off (`ARGOT_CLIP_MODEL=none`), it is restricted to a private channel or forgotten.
When image search comes back, a picture posted in a public channel must not find it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.services import Services
from bot.settings import Settings
from engine.images.decoding import decode_image
from tests.image_samples import query_png, shapes_kb

RESTRICTED = "---\nchannels: CSECRET\n---\n"
BLUE = ("blue", "square")


def run(services: Services, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.run(args, services)


def found_by_picture(services: Services, channel: str) -> list[str]:
    hits = services.images.search(decode_image(query_png(BLUE)), k=10, channel=channel).hits
    return [hit.doc_id for hit in hits]


def with_image_search_off(monkeypatch: pytest.MonkeyPatch, fake_embedder) -> Services:
    monkeypatch.setenv("ARGOT_CLIP_MODEL", "none")
    return Services(Settings.load(), base_embedder=fake_embedder)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return shapes_kb(tmp_path)


@pytest.mark.slow
def test_restricting_a_page_while_image_search_is_off_hides_its_picture(
        clip_services: Services, clip_settings: Settings, kb: Path, fake_embedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(clip_services, "ingest", str(kb)) == 0
    assert "releases/blue-square" in found_by_picture(clip_services, "CGENERAL")

    page = kb / "releases" / "blue-square.md"
    page.write_text(RESTRICTED + page.read_text())
    off = with_image_search_off(monkeypatch, fake_embedder)
    assert run(off, "ingest", str(kb)) == 0

    again = Services(clip_settings, base_embedder=fake_embedder)
    assert "releases/blue-square" not in found_by_picture(again, "CGENERAL")
    assert "releases/blue-square" in found_by_picture(again, "CSECRET")


@pytest.mark.slow
def test_forgetting_a_page_while_image_search_is_off_removes_its_picture(
        clip_services: Services, clip_settings: Settings, kb: Path, fake_embedder,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(clip_services, "ingest", str(kb)) == 0
    off = with_image_search_off(monkeypatch, fake_embedder)
    assert run(off, "forget", "releases/blue-square") == 0

    again = Services(clip_settings, base_embedder=fake_embedder)
    assert "releases/blue-square" not in found_by_picture(again, "CGENERAL")
    pictures, clip_texts = again.images.indexes()
    assert not pictures.chunks_of("releases/blue-square")
    assert not clip_texts.chunks_of("releases/blue-square")


def test_restricting_a_page_reaches_the_collections_of_other_models(
        services: Services, kb: Path) -> None:
    """An older model's collection (kept for rollback) follows the restriction too."""
    from engine.index import ChunkIndex
    from engine.knowledge.ingest import Ingestor

    older = ChunkIndex(services.chroma, "older-model")
    run(services, "ingest", str(kb))
    Ingestor(older, services.embedder()).ingest(
        [doc for doc in _documents(kb) if doc.doc_id == "releases/blue-square"])
    page = kb / "releases" / "blue-square.md"
    page.write_text(RESTRICTED + page.read_text())
    run(services, "ingest", str(kb))
    [(_, meta), *_] = older.chunks_of("releases/blue-square")
    assert meta["public"] is False and meta["ch.CSECRET"] is True
    assert run(services, "forget", "releases/blue-square") == 0
    assert not older.chunks_of("releases/blue-square")


def _documents(kb: Path):
    from engine.knowledge.sources import collect

    return collect([str(kb)]).documents
