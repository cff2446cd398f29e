"""Turning untrusted bytes into a picture the CLIP model can look at, or a short refusal.

Bytes come from Slack uploads and from files on disk; either may be anything. The
checks run cheapest first, and nothing is decoded before the header says it is safe:

1. size: over `max_bytes` is refused before anything is parsed;
2. content: the first bytes must be PNG, JPEG, WebP or GIF, whatever the file is called;
3. pixel count: read from the header; over `max_pixels` (a decompression bomb: a few
   kilobytes that would decode to gigabytes) is refused before decoding. A JPEG is
   decoded at a reduced scale (`draft`), so it may be larger (`JPEG_ALLOWANCE`);
   any other format decodes in full, so its cap is what fits in ~70 MB;
4. animation: animated GIF, PNG or WebP is refused (the first frame of a screen
   recording is rarely what the person means; a still screenshot is asked for);
5. decoding: a truncated or corrupt file is refused, not half-read. At most
   `DECODE_SLOTS` pictures decode at once in a process (the others wait their turn),
   and each is shrunk to `DRAFT_SIDE` right after decoding, before any conversion:
   the model looks at 224 pixels.

Every refusal is an `ImageRejected` whose message can go to the person as is.

Example:
    >>> picture = decode_image(Path("diagram.png").read_bytes())
    >>> picture.image.size, picture.sha256[:12]
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ArgotError

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 16_777_216
"""4096 × 4096 (a 5K screenshot is 14.7 million): decoded in full, at most ~64 MB."""
JPEG_ALLOWANCE = 3
"""A JPEG may have 3 × `max_pixels` (50 million by default): it is decoded at 1/2, 1/4
or 1/8 scale (`draft`), so a 48-megapixel phone photo costs what a 3-megapixel one does."""
MIN_SIDE = 8
DRAFT_SIDE = 1024
"""Pictures are decoded at (JPEG) or shrunk to (others) at most this side: the model
looks at 224 pixels, so a 12-megapixel photo need not be held in full."""
DECODE_SLOTS = threading.BoundedSemaphore(2)
"""Pictures decoded at once per process: with 16 listener threads, 16 large PNGs
arriving together cost 2 × 64 MB, not 16 ×."""
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
STILL_PLEASE = "post a still PNG or JPEG screenshot instead"


class ImageRejected(ArgotError):
    """The bytes are not an image Argot will read; the message says why, briefly."""


@dataclass(frozen=True)
class DecodedImage:
    """A checked, decoded RGB picture and the SHA-256 of the bytes it came from."""

    image: Image
    sha256: str
    format: str

    @property
    def question(self) -> str:
        """How the feedback store records an image question: by its hash, never its bytes."""
        return f"image:sha256:{self.sha256}"


def size_text(size: int) -> str:
    """10 MB, 48 KB: a size the way a person reads it."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, size // 1024)} KB"


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (PNG, JPEG, WEBP, GIF), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def describe(head: bytes) -> str:
    """A few words for what a non-image looks like, for the refusal."""
    start = head.lstrip()[:64].lower()
    if head.startswith(b"%PDF"):
        return "a PDF"
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "a web page"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive or Office document"
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in head[:1024]):
        return "an SVG drawing (export it as PNG)"
    if head and b"\x00" not in head[:512]:
        return "text"
    return "not an image Argot can read"


def decode_image(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES,
                 max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Check and decode `data`; raise `ImageRejected` with a short reason otherwise.

    Args:
        data: the file's bytes, as downloaded or read.
        max_bytes: the size cap.
        max_pixels: the largest width × height that will be decoded.

    Returns:
        The picture as RGB (transparency flattened onto white, EXIF rotation applied).
    """
    import io

    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    if not data:
        raise ImageRejected("The file is empty.")
    if len(data) > max_bytes:
        raise ImageRejected(f"The image is larger than {size_text(max_bytes)}; post a smaller one.")
    kind = sniff(data[:16])
    if kind is None:
        raise ImageRejected(f"That file is {describe(data[:2048])}, not an image. "
                            "I can search with PNG, JPEG or WebP pictures.")
    with warnings.catch_warnings():
        # Pillow's own bomb check only warns below twice its limit; make it an error.
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            image = PILImage.open(io.BytesIO(data), formats=[kind])
            width, height = image.size
            if width * height > max_pixels * (JPEG_ALLOWANCE if kind == "JPEG" else 1):
                raise ImageRejected(f"The image is {width} × {height} pixels, more than I "
                                    f"decode ({max_pixels // 1_000_000} megapixels); post a "
                                    "smaller one.")
            if min(width, height) < MIN_SIDE:
                raise ImageRejected(f"The image is only {width} × {height} pixels; post a "
                                    "larger one.")
            if getattr(image, "is_animated", False) and getattr(image, "n_frames", 1) > 1:
                raise ImageRejected(f"Animated images are not supported; {STILL_PLEASE}.")
            if kind == "JPEG" and max(width, height) > DRAFT_SIDE:
                image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
            with DECODE_SLOTS:
                image.load()
                if max(image.size) > DRAFT_SIDE:
                    image.thumbnail((DRAFT_SIDE, DRAFT_SIDE), reducing_gap=2.0)
                image = ImageOps.exif_transpose(image)
                rgb = to_rgb(image)
        except ImageRejected:
            raise
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            raise ImageRejected("The image would decode to too many pixels; post a smaller "
                                "one.") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
                MemoryError) as exc:
            raise ImageRejected(f"The {kind} file is corrupt or truncated, so I could not "
                                "read it.") from exc
    return DecodedImage(rgb, hashlib.sha256(data).hexdigest(), kind)


def to_rgb(image: Image) -> Image:
    """RGB for the model; transparent areas become white, as they look in a document."""
    from PIL import Image as PILImage

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = PILImage.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits before converting, or it saturates to white.
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def read_image_file(path: Path, *, max_bytes: int = MAX_IMAGE_BYTES,
                    max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """`decode_image` for a file on disk, refusing oversized files before reading them."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageRejected(f"{path}: {size_text(size)} is over the {size_text(max_bytes)} "
                                "limit for one image")
        data = path.read_bytes()
    except OSError as exc:
        raise ImageRejected(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels)
