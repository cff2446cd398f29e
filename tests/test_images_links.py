"""Which pictures belong to which document, with the words around them."""

from __future__ import annotations

from pathlib import Path

from engine.images.links import group_images, linked_images
from engine.knowledge.sources import collect
from tests.image_samples import shape_png, write


def kb_with_pictures(root: Path) -> Path:
    kb = root / "kb"
    write(kb / "releases" / "img" / "badge.png", shape_png("blue", "square"))
    write(kb / "releases" / "img" / "unused.png", shape_png("red", "star"))
    (kb / "releases" / "blue-square.md").write_text(
        "# Blue Square release checklist\n\n"
        "Every release passes the blue square checklist before it ships.\n\n"
        "## The badge\n\n"
        "The badge goes on the release ticket once the checklist is done.\n\n"
        "![The blue square badge](img/badge.png \"release badge\")\n\n"
        "![remote](https://example.com/x.png) ![missing](img/nope.png) ![abs](/etc/x.png)\n\n"
        "![again](img/badge.png)\n", "utf-8")
    write(kb / "alerts" / "triangle.png", shape_png("green", "triangle"))
    (kb / "alerts" / "green-triangle.html").write_text(
        "<html><head><title>Green Triangle alerting</title></head><body>"
        "<h1>Green Triangle alerting</h1><p>The alert fires when the error budget burns.</p>"
        "<h2>What it looks like</h2><figure><img src='triangle.png' alt='green triangle icon'>"
        "<figcaption>The icon on the pager</figcaption></figure></body></html>", "utf-8")
    write(kb / "dashboards" / "red-circle.png", shape_png("red", "circle"))
    (kb / "dashboards" / "red-circle.md").write_text(
        "# The Red Circle dashboard\n\nThe red circle shows the health of payments.\n", "utf-8")
    write(kb / "whiteboard" / "yellow-star_sketch.png", shape_png("yellow", "star"))
    return kb


def test_markdown_links_bring_alt_text_paragraph_and_heading(tmp_path: Path) -> None:
    collected = collect([str(kb_with_pictures(tmp_path))])
    doc = next(d for d in collected.documents if d.doc_id == "releases/blue-square")
    [badge] = linked_images(doc)  # remote, missing and absolute links are skipped; once each
    assert badge.path.name == "badge.png"
    assert badge.heading == "The badge"
    assert "The blue square badge" in badge.context and "release badge" in badge.context
    # the image stands alone in its paragraph, so it borrows the one before it
    assert "goes on the release ticket" in badge.context


def test_html_images_bring_alt_caption_and_heading(tmp_path: Path) -> None:
    collected = collect([str(kb_with_pictures(tmp_path))])
    doc = next(d for d in collected.documents if d.doc_id == "alerts/green-triangle")
    [icon] = linked_images(doc)
    assert icon.path.name == "triangle.png" and icon.heading == "What it looks like"
    assert "green triangle icon" in icon.context and "The icon on the pager" in icon.context


def test_every_picture_is_tied_to_one_document(tmp_path: Path) -> None:
    collected = collect([str(kb_with_pictures(tmp_path))])
    groups = {g.document.doc_id: g for g in group_images(collected.documents, collected.images)}
    assert [ref.path.name for ref in groups["releases/blue-square"].images] == ["badge.png"]
    assert [ref.path.name for ref in groups["alerts/green-triangle"].images] == ["triangle.png"]
    # a picture beside a document of the same id is that document's picture
    assert groups["dashboards/red-circle"].document.title == "The Red Circle dashboard"
    # a picture nothing links is a document of its own, named after the file
    lone = groups["whiteboard/yellow-star_sketch"].document
    assert lone.title == "yellow star sketch" and lone.source.endswith("yellow-star_sketch.png")
    unused = groups["releases/img/unused"].document
    assert unused.title == "unused"
    # linked pictures are not also documents of their own
    assert "releases/img/badge" not in groups and "alerts/triangle" not in groups


def test_an_image_link_cannot_leave_the_ingested_folder(tmp_path) -> None:
    """`![](../../secret.png)` or a symlink out of the folder pulls in nothing."""
    from engine.images.links import linked_images
    from engine.knowledge.sources import collect
    from tests.image_samples import shape_png, write

    outside = write(tmp_path / "home" / "secret.png", shape_png("red", "circle"))
    kb = tmp_path / "kb"
    write(kb / "img" / "ok.png", shape_png("blue", "square"))
    (kb / "img" / "link.png").symlink_to(outside)
    (kb / "runbooks").mkdir(parents=True)
    (kb / "runbooks" / "a.md").write_text(
        "# A\n\n![fine](../img/ok.png)\n\n![escape](../../home/secret.png)\n\n"
        "![link](../img/link.png)\n")
    collected = collect([str(kb)])
    [doc] = collected.documents
    assert [ref.path.name for ref in linked_images(doc)] == ["ok.png"]
    assert [path.name for path, _ in collected.images] == ["ok.png"]
