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
