"""Pictures for the image tests: good ones, and every kind of bad input the bot must refuse."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.clip_fixture import draw, draw_diagram


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def shape_png(colour: str, shape: str, seed: int = 7, size: int = 320) -> bytes:
    return encode(draw(colour, shape, seed, size))


def diagram_png(kind: str, seed: int = 7, size: int = 320) -> bytes:
    return encode(draw_diagram(kind, seed, size))


def bomb_png(side: int = 9000) -> bytes:
    """A few kilobytes that decode to `side`² pixels (81 million by default)."""
    return encode(Image.new("1", (side, side)), optimize=True)


def animated_gif() -> bytes:
    frames = [draw("red", "circle", seed, 64).convert("P") for seed in range(3)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def noisy_png(side: int = 200) -> bytes:
    """A real PNG that does not compress: side² × 3 bytes, for size-cap tests."""
    import random

    rng = random.Random(5)
    return encode(Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)))


@dataclass(frozen=True)
class BadInput:
    name: str
    data: bytes
    filename: str
    says: str
    """A word the short reply must contain."""


def bad_inputs() -> list[BadInput]:
    good = shape_png("red", "circle")
    return [
        BadInput("pdf renamed .png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
                 "diagram.png", "PDF"),
        BadInput("text renamed .png", b"just some notes, not a picture\n" * 20, "notes.png",
                 "not an image"),
        BadInput("truncated png", good[: len(good) // 2], "cut.png", "truncated"),
        BadInput("corrupt jpeg", b"\xff\xd8\xff\xe0" + b"\x00garbage" * 200, "photo.jpg", "corrupt"),
        BadInput("decompression bomb", bomb_png(), "bomb.png", "pixels"),
        BadInput("animated gif", animated_gif(), "loop.gif", "Animated"),
    ]


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def shapes_kb(root: Path) -> Path:
    """A small knowledge base about things that look like the tiny model's pictures:
    documents with pictures (Markdown and HTML), without pictures, a lone picture, and
    documents about something else entirely."""
    kb = root / "shapes-kb"
    docs = {
        "dashboards/red-circle.md":
            "# The Red Circle dashboard\n\nThe red circle dashboard shows the health of the "
            "payments service at a glance. Open it first during an incident.\n",
        "releases/blue-square.md":
            "# Blue Square release checklist\n\nEvery release passes the blue square checklist "
            "before it ships to production.\n\n![The blue square badge](img/badge.png)\n",
        "architecture/ingest-pipeline.md":
            "# Ingest pipeline architecture\n\nA flow diagram of boxes and arrows: the api, the "
            "queue, the workers and the database.\n\n![boxes and arrows](pipeline.png)\n",
        "reports/weekly-latency.md":
            "# Weekly latency report\n\nA bar chart of p95 latency per service, posted every "
            "Monday to the ops channel.\n",
        "finance/cloud-costs.md":
            "# Cloud cost breakdown\n\nA pie chart of where the cloud budget goes, team by "
            "team, every quarter.\n",
        "glossary/bosun.md":
            "# Bosun\n\nThe bosun is the engineer on deploy duty this week; the bosun approves "
            "every production deploy.\n",
    }
    for name, text in docs.items():
        (kb / name).parent.mkdir(parents=True, exist_ok=True)
        (kb / name).write_text(text, "utf-8")
    (kb / "alerts").mkdir(parents=True, exist_ok=True)
    (kb / "alerts" / "green-triangle.html").write_text(
        "<html><head><title>Green Triangle alerting</title></head><body>"
        "<h1>Green Triangle alerting</h1><p>The green triangle alert fires when the error "
        "budget burns too fast.</p><figure><img src='icon.png' alt='green triangle'>"
        "<figcaption>The green triangle on the pager</figcaption></figure></body></html>",
        "utf-8")
    write(kb / "releases" / "img" / "badge.png", shape_png("blue", "square", seed=1))
    write(kb / "architecture" / "pipeline.png", diagram_png("flow", seed=1))
    write(kb / "alerts" / "icon.png", shape_png("green", "triangle", seed=1))
    write(kb / "whiteboard" / "yellow-star.png", shape_png("yellow", "star", seed=1))
    return kb


FINDS = [
    # (what the query picture shows, the document it must find first)
    (("red", "circle"), "dashboards/red-circle"),          # text only: no picture in the doc
    (("blue", "square"), "releases/blue-square"),          # a linked picture and the text
    (("green", "triangle"), "alerts/green-triangle"),      # HTML with a figure
    (("yellow", "star"), "whiteboard/yellow-star"),        # a lone image file
    (("flow",), "architecture/ingest-pipeline"),           # a diagram of boxes and arrows
    (("bars",), "reports/weekly-latency"),                 # a bar chart, no picture in the doc
    (("pie",), "finance/cloud-costs"),
]


def query_png(what: tuple[str, ...], seed: int = 101) -> bytes:
    """A fresh picture of `what`, never the same pixels as the one in the knowledge base."""
    return shape_png(*what, seed=seed, size=360) if len(what) == 2 else diagram_png(what[0], seed, 360)
