"""Image search end to end with the tiny CLIP model: loading, indexing, `argot ask --image`.

The model (tests/clip_fixture.py) was trained here, on synthetic pictures, so these
tests can assert that a picture of X finds the document about X.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.services import Services
from engine.images.clip import ClipEmbedder, ImagesUnavailable
from engine.images.decoding import decode_image
from engine.images.search import ImageSearch
from engine.knowledge.sources import collect
from tests.image_samples import FINDS, query_png, shape_png, shapes_kb, write


def ingest(services: Services, *targets: Path) -> int:
    args = build_parser().parse_args(["ingest", *map(str, targets)])
    return args.run(args, services)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return shapes_kb(tmp_path)


# -- loading -----------------------------------------------------------------------------

def test_a_named_model_loads_its_pretrained_tag(tiny_clip, monkeypatch) -> None:
    """The default route (architecture + tag): the tag resolves through open_clip's own
    pretrained registry; here it points at the fixture instead of the hub."""
    import open_clip
    from open_clip.pretrained import _PRETRAINED, _pcfg

    open_clip.add_model_config(tiny_clip.config)
    monkeypatch.setitem(_PRETRAINED, tiny_clip.name, {"synthetic": _pcfg(file=str(tiny_clip.checkpoint))})
    clip = ClipEmbedder(tiny_clip.name, "synthetic")
    vectors = clip.embed_texts(["a red circle", "a blue square"])
    assert vectors.shape == (2, clip.dimension) == (2, 64)
    assert clip.model_id == "clip-argot-tiny-clip-synthetic"


@pytest.mark.parametrize("route", ["name+checkpoint", "config+checkpoint", "local-dir"])
def test_a_local_checkpoint_loads(tiny_clip, route: str) -> None:
    import open_clip

    open_clip.add_model_config(tiny_clip.config)
    model, pretrained = {
        "name+checkpoint": (tiny_clip.name, str(tiny_clip.checkpoint)),
        "config+checkpoint": (str(tiny_clip.config), str(tiny_clip.checkpoint)),
        "local-dir": (f"local-dir:{tiny_clip.folder}", None),
    }[route]
    clip = ClipEmbedder(model, pretrained)
    picture = decode_image(shape_png("red", "circle"))
    image, texts = clip.embed_images([picture.image]), clip.embed_texts(["a red circle", "a pie chart"])
    assert image.shape == (1, 64)
    assert float(image[0] @ texts[0]) > float(image[0] @ texts[1])  # the weights are the trained ones


def test_checkpoints_are_memory_mapped_and_give_open_clips_own_model(tiny_clip) -> None:
    """The low-memory loader (meta device, mmap, assign) must compute exactly what
    open_clip's own loader computes, causal text mask included."""
    import open_clip
    import torch

    from engine.images.loading import _load_mapped

    open_clip.add_model_config(tiny_clip.config)
    mapped = _load_mapped(tiny_clip.name, str(tiny_clip.checkpoint), tiny_clip.checkpoint)
    assert mapped is not None, "the memory-mapped path was not taken"
    model, preprocess = mapped
    reference, _, reference_preprocess = open_clip.create_model_and_transforms(
        tiny_clip.name, pretrained=str(tiny_clip.checkpoint))
    reference.eval()
    picture = decode_image(shape_png("green", "triangle")).image
    tokens = open_clip.get_tokenizer(tiny_clip.name)(["a green triangle", "a pie chart"])
    with torch.inference_mode():
        assert torch.allclose(model.encode_image(preprocess(picture)[None]),
                              reference.encode_image(reference_preprocess(picture)[None]), atol=1e-6)
        assert torch.allclose(model.encode_text(tokens), reference.encode_text(tokens), atol=1e-6)


def test_without_weights_image_search_is_off_with_one_clear_log_line(home, caplog) -> None:
    """The default model, offline and never downloaded: one line, and the failure is kept."""
    search = ImageSearch(client=None, clip=ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k"))
    with caplog.at_level(logging.INFO):
        assert search.start() is False
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    line = loud[0].getMessage()
    assert line.startswith("image search is off: cannot load the CLIP model ViT-B-32")
    assert "ARGOT_CLIP_PRETRAINED" in line and "\n" not in line
    with pytest.raises(ImagesUnavailable):  # remembered, not retried on every image
        search.require()


def test_a_missing_checkpoint_file_is_named(tmp_path) -> None:
    clip = ClipEmbedder("ViT-B-32", str(tmp_path / "nope.pt"))
    with pytest.raises(ImagesUnavailable, match="nope.pt does not exist"):
        clip.load()


# -- indexing and searching ----------------------------------------------------------------

def test_a_picture_of_x_finds_the_document_about_x(clip_services: Services, kb: Path) -> None:
    assert ingest(clip_services, kb) == 0
    search = clip_services.images
    misses = []
    for what, expected in FINDS:
        hits = search.search(decode_image(query_png(what)), k=3).hits
        if not hits or hits[0].doc_id != expected:
            misses.append((what, expected, [(h.doc_id, round(h.score, 3)) for h in hits]))
    assert not misses


def test_reingesting_unchanged_pictures_embeds_nothing(clip_services: Services, kb: Path) -> None:
    collected = collect([str(kb)])
    first = clip_services.images.ingest(collected.documents, collected.images)
    assert (first.images, first.errors) == (4, [])
    assert first.documents == len(collected.documents) + 1  # + the lone picture's stand-in
    again = clip_services.images.ingest(collected.documents, collected.images)
    assert (again.images, again.unchanged, again.documents) == (0, 4, 0)


def test_a_document_that_drops_its_picture_loses_it(clip_services: Services, kb: Path) -> None:
    ingest(clip_services, kb)
    doc = kb / "releases" / "blue-square.md"
    doc.write_text(doc.read_text().replace("![The blue square badge](img/badge.png)", ""))
    (kb / "releases" / "img" / "badge.png").unlink()
    ingest(clip_services, kb)
    pictures, _ = clip_services.images.indexes()
    assert not pictures.chunks_of("releases/blue-square")


def test_forget_removes_pictures_and_clip_texts(clip_services: Services, kb: Path) -> None:
    ingest(clip_services, kb)
    args = build_parser().parse_args(["forget", "releases/blue-square"])
    assert args.run(args, clip_services) == 0
    hits = clip_services.images.search(decode_image(query_png(("blue", "square"))), k=5).hits
    assert "releases/blue-square" not in [hit.doc_id for hit in hits]


def test_channel_only_documents_stay_in_their_channel(clip_services: Services, kb: Path) -> None:
    (kb / "secret").mkdir()
    (kb / "secret" / "purple.md").write_text(
        "---\nchannels: CSECRET\n---\n# Purple Square escalation policy\n\nWho to page.\n\n"
        "![purple square](purple.png)\n")
    write(kb / "secret" / "purple.png", shape_png("purple", "square", seed=3))
    ingest(clip_services, kb)
    picture = decode_image(query_png(("purple", "square")))
    assert clip_services.images.search(picture, 3, channel="CSECRET").hits[0].doc_id == "secret/purple"
    elsewhere = clip_services.images.search(picture, 5, channel="CGENERAL").hits
    assert "secret/purple" not in [hit.doc_id for hit in elsewhere]


def test_an_unreadable_picture_is_reported_and_the_rest_indexed(clip_services: Services, kb: Path,
                                                               capsys) -> None:
    write(kb / "whiteboard" / "broken.png", b"%PDF-1.4 not really a picture")
    assert ingest(clip_services, kb) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "PDF" in err
    assert "4 images indexed" in err


# -- argot ask --image ---------------------------------------------------------------------

def test_argot_ask_image_json(clip_services: Services, kb: Path, tmp_path: Path, capsys) -> None:
    ingest(clip_services, kb)
    capsys.readouterr()
    query = write(tmp_path / "whiteboard-photo.png", query_png(("flow",)))
    assert main(["ask", "--image", str(query), "--json", "-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"] == str(query) and out["modality"] == "image"
    assert out["model_version"].startswith("clip-argot-tiny-clip")
    assert out["hits"][0]["doc_id"] == "architecture/ingest-pipeline"
    assert out["hits"][0]["title"] == "Ingest pipeline architecture"
    assert set(out["hits"][0]) == {"doc_id", "title", "score", "text", "url", "source"}


def test_argot_ask_image_plain(clip_services: Services, kb: Path, tmp_path: Path, capsys) -> None:
    ingest(clip_services, kb)
    capsys.readouterr()
    query = write(tmp_path / "q.png", query_png(("red", "circle")))
    assert main(["ask", "--image", str(query)]) == 0
    assert capsys.readouterr().out.startswith("1. The Red Circle dashboard  [dashboards/red-circle]")


def test_argot_ask_image_refuses_a_text_file_named_png(clip_settings, tmp_path: Path, capsys) -> None:
    fake = write(tmp_path / "notes.png", b"meeting notes, not a picture\n")
    assert main(["ask", "--image", str(fake)]) == 2
    assert "error: That file is text, not an image" in capsys.readouterr().err


def test_argot_ask_image_when_image_search_is_off(home, monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("ARGOT_CLIP_MODEL", "none")
    query = write(tmp_path / "q.png", shape_png("red", "circle"))
    assert main(["ask", "--image", str(query)]) == 2
    assert "image search is off" in capsys.readouterr().err


def test_the_playground_demo_is_ready_for_pictures_when_image_search_is_on(clip_services: Services
                                                                           ) -> None:
    from bot.playground.demo import load_demo

    report = load_demo(clip_services)

    _, clip_texts = clip_services.images.indexes()
    assert not report.errors
    assert set(clip_texts.document_hashes()) == set(clip_services.index().document_hashes())
    assert len(clip_texts.document_hashes()) > 100  # the whole demo knowledge base
