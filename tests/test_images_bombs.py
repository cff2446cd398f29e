"""Decode bombs: a small file that decodes to tens of megapixels costs bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from engine.images.decoding import ImageRejected, decode_image
from tests.image_samples import bomb_png


def test_a_40_megapixel_png_is_refused_before_decoding() -> None:
    data = bomb_png(6325)  # 40 million pixels in a few kilobytes
    assert len(data) < 200_000
    with pytest.raises(ImageRejected, match="pixels"):
        decode_image(data)


def peak_growth_mb(script: str) -> float:
    """Peak RSS growth (MB) of a fresh Python running `script` after its imports."""
    code = textwrap.dedent(f"""
        import json, resource, threading
        from engine.images.decoding import decode_image
        from tests.image_samples import bomb_png, encode
        from PIL import Image
        data = encode(Image.new("RGB", (4096, 4096), (10, 120, 200)))
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        {script}
        print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_sixteen_large_pictures_at_once_cost_bounded_memory() -> None:
    """16 listener threads each get a 16-megapixel PNG (the most that is decoded in
    full): decodes wait their turn, so memory grows by a few pictures, not sixteen."""
    growth = peak_growth_mb("""
        threads = [threading.Thread(target=decode_image, args=(data,)) for _ in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    assert growth < 400, f"decoding 16 pictures at once grew memory by {growth:.0f} MB"
