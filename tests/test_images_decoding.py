"""Untrusted bytes become a checked RGB picture or a short refusal a person can read."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from engine.images.decoding import ImageRejected, decode_image, read_image_file, sniff
from tests.image_samples import bad_inputs, encode, noisy_png, shape_png


def test_a_png_decodes_to_rgb_with_the_hash_of_its_bytes() -> None:
    data = shape_png("blue", "square")
    picture = decode_image(data)
    assert picture.image.mode == "RGB" and picture.image.size == (320, 320)
    assert picture.sha256 == hashlib.sha256(data).hexdigest()
    assert picture.question == f"image:sha256:{picture.sha256}"
    assert picture.format == "PNG"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_read(fmt: str) -> None:
    image = Image.open(io.BytesIO(shape_png("green", "triangle"))).convert("RGB")
    assert decode_image(encode(image, fmt)).format == fmt


def test_transparency_is_flattened_onto_white_as_in_a_document() -> None:
    clear = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    picture = decode_image(encode(clear))
    assert picture.image.getpixel((5, 5)) == (255, 255, 255)


def test_the_format_comes_from_the_content_not_the_name() -> None:
    assert sniff(shape_png("red", "star")[:16]) == "PNG"
    assert sniff(b"%PDF-1.7") is None


@pytest.mark.parametrize("bad", bad_inputs(), ids=lambda bad: bad.name)
def test_bad_input_is_refused_with_a_short_reason(bad) -> None:
    with pytest.raises(ImageRejected) as refused:
        decode_image(bad.data)
    message = str(refused.value)
    assert bad.says.lower() in message.lower()
    assert len(message) < 200 and "\n" not in message


def test_a_bomb_is_refused_before_it_is_decoded() -> None:
    from tests.image_samples import bomb_png

    data = bomb_png(4000)  # 16 MP: under the default cap, over this one
    with pytest.raises(ImageRejected, match="pixels"):
        decode_image(data, max_pixels=10_000_000)
    assert decode_image(data).image.size == (1024, 1024)  # shrunk as soon as decoded


def test_over_the_size_cap_is_refused_before_parsing() -> None:
    data = noisy_png(100)
    with pytest.raises(ImageRejected, match="larger than 10 KB"):
        decode_image(data, max_bytes=10 * 1024)


def test_empty_and_tiny_images_are_refused() -> None:
    with pytest.raises(ImageRejected, match="empty"):
        decode_image(b"")
    with pytest.raises(ImageRejected, match="only 4 × 4"):
        decode_image(encode(Image.new("RGB", (4, 4))))


def test_read_image_file_names_the_file(tmp_path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(noisy_png(100))
    with pytest.raises(ImageRejected, match="big.png"):
        read_image_file(path, max_bytes=1024)
    assert read_image_file(path).image.size == (100, 100)


def test_sixteen_bit_greyscale_keeps_its_tones() -> None:
    grey = Image.new("I;16", (20, 20), 32768)
    picture = decode_image(encode(grey))
    assert 100 < picture.image.getpixel((3, 3))[0] < 160
