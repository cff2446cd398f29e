"""Image-search benchmarks for the ViT-B-32 architecture on this machine's CPU.

    .venv/bin/python bench/image_bench.py latency [--threads 1]
    .venv/bin/python bench/image_bench.py ingest [--threads 1]
    .venv/bin/python bench/image_bench.py memory

The weights are random (`open_clip.create_model("ViT-B-32", pretrained=None)`): the
timing and memory of a forward pass do not depend on what the weights are, and no
weights can be downloaded here.

- latency: one image query as the bot runs it once the picture is downloaded:
  decode and check the bytes (a 1280 × 800 PNG screenshot), embed, look up both
  collections (pictures, CLIP document texts), fuse into documents.
- ingest: image files → checked, decoded, embedded, written to the picture
  collection, per second; and document texts → CLIP text embeddings per second.
- memory: peak RSS of a fresh process that is the bot (Bolt app against the local
  Slack emulator, services, the bundled MiniLM and ViT-B-32 loaded) after answering
  one text question and one image query.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from engine.images.clip import ClipEmbedder  # noqa: E402
from engine.images.decoding import decode_image  # noqa: E402
from engine.images.search import ImageSearch  # noqa: E402
from engine.index import make_client  # noqa: E402
from engine.types import Document  # noqa: E402

ARCH = "ViT-B-32"


def vit_b_32() -> ClipEmbedder:
    """ViT-B-32 with random weights, wrapped like a loaded model."""
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(ARCH, pretrained=None)
    return ClipEmbedder.from_parts(model, preprocess, open_clip.get_tokenizer(ARCH),
                                   "clip-vit-b-32-random")


def screenshot(seed: int, size: tuple[int, int] = (1280, 800)) -> bytes:
    """A dashboard-like PNG: panels, bars, lines and labels on a light background."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, (246, 247, 249))
    pen = ImageDraw.Draw(image)
    for row in range(2):
        for col in range(3):
            x0, y0 = 20 + col * 420, 60 + row * 370
            pen.rectangle((x0, y0, x0 + 400, y0 + 350), fill=(255, 255, 255), outline=(210, 210, 215))
            pen.text((x0 + 12, y0 + 10), f"panel {rng.randrange(1000)} p95 latency", fill=(40, 40, 40))
            colour = tuple(rng.randrange(40, 220) for _ in range(3))
            for bar in range(12):
                height = rng.randrange(20, 280)
                pen.rectangle((x0 + 20 + bar * 30, y0 + 330 - height, x0 + 40 + bar * 30, y0 + 330),
                              fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def documents(count: int) -> list[Document]:
    words = ("deploy", "latency", "dashboard", "incident", "queue", "billing", "runbook", "cache",
             "gateway", "release", "alert", "pipeline", "schema", "owner", "rotation")
    rng = random.Random(3)
    return [Document(doc_id=f"doc-{i}", title=f"{rng.choice(words).title()} {i}",
                     text=" ".join(rng.choice(words) for _ in range(120)))
            for i in range(count)]


def write_images(folder: Path, count: int) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        path = folder / f"shot-{i}.png"
        path.write_bytes(screenshot(i))
        files.append((path, f"shots/shot-{i}"))
    return files


def cmd_latency(args: argparse.Namespace) -> None:
    clip = vit_b_32()
    with tempfile.TemporaryDirectory() as tmp:
        search = ImageSearch(make_client(Path(tmp)), clip)
        print(f"indexing {args.images} images and {args.docs} documents …", file=sys.stderr)
        search.ingest(documents(args.docs), write_images(Path(tmp) / "shots", args.images))
        queries = [screenshot(10_000 + i) for i in range(args.queries)]
        search.search(decode_image(queries[0]), 5)  # warm-up
        decode_s, total_s, cpu_s = [], [], []
        for data in queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            picture = decode_image(data)
            decoded = time.perf_counter()
            search.search(picture, 5)
            done = time.perf_counter()
            decode_s.append(decoded - started)
            total_s.append(done - started)
            cpu_s.append(time.process_time() - cpu_started)
    ms = [1000 * s for s in total_s]
    print(f"| image query (decode + embed + 2 lookups + fusion) | median {statistics.median(ms):.0f} ms"
          f" | p95 {float(np.percentile(ms, 95)):.0f} ms | CPU per query median "
          f"{1000 * statistics.median(cpu_s):.0f} ms | decode median "
          f"{1000 * statistics.median(decode_s):.0f} ms | {args.images} pictures, {args.docs} documents"
          f" indexed, {len(queries)} queries of 1280×800 PNG |")


def cmd_ingest(args: argparse.Namespace) -> None:
    clip = vit_b_32()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_images(Path(tmp) / "shots", args.images)
        search = ImageSearch(make_client(Path(tmp)), clip)
        search.ingest(documents(4), files[:4])  # warm-up, not counted
        pictures, texts = search.indexes()
        for index in (pictures, texts):
            for doc_id in list(index.document_ids()):
                index.delete_document(doc_id)
        started, cpu_started = time.perf_counter(), time.process_time()
        report = search.ingest([], files)
        image_s, image_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        docs = documents(args.docs)
        started, cpu_started = time.perf_counter(), time.process_time()
        search.ingest(docs, [])
        text_s, text_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"| indexing pictures (read, check, decode, embed, write) | {report.images / image_s:.1f} "
          f"images/s | {report.images / image_cpu:.1f} images per CPU-second | {report.images} "
          "1280×800 PNGs |")
    print(f"| indexing document texts for image search (CLIP text tower) | {len(docs) / text_s:.1f} "
          f"documents/s | {len(docs) / text_cpu:.1f} documents per CPU-second | {len(docs)} "
          "documents of ~120 words |")


def cmd_memory(args: argparse.Namespace) -> None:
    import open_clip
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "vit-b-32-random.pt"
        torch.save(open_clip.create_model(ARCH, pretrained=None).state_dict(), checkpoint)
        env = {**os.environ, "BENCH_CHECKPOINT": str(checkpoint)}
        result = subprocess.run([sys.executable, "-c", MEMORY_CHILD], capture_output=True, text=True,
                                timeout=900, cwd=Path(__file__).resolve().parent.parent, env=env)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    print(result.stdout.strip())


MEMORY_CHILD = r"""
import os, resource, sys, tempfile
sys.path.insert(0, ".")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
from bench.image_bench import screenshot
from bot.app import build_app
from bot.playground.emulator import BOT_TOKEN, SIGNING_SECRET, SlackEmulator
from bot.services import Services
from bot.settings import Settings
from engine.images.decoding import decode_image
from engine.types import Document

def memory():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    kb = lambda key: int(status[key].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"{peak:.0f} MB | now {kb('VmRSS'):.0f} MB ({kb('RssAnon'):.0f} MB private, " \
           f"{kb('RssFile'):.0f} MB mapped files: libraries, model weights) |"

with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as slack:
    settings = Settings.from_mapping({
        "ARGOT_HOME": tmp, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url, "ARGOT_CLIP_MODEL": "ViT-B-32",
        "ARGOT_CLIP_PRETRAINED": os.environ["BENCH_CHECKPOINT"]})
    services = Services(settings)
    app = build_app(settings, services)
    services.ingestor().ingest([Document("d1", "Project Phoenix is the billing rewrite.", "Phoenix")])
    services.retriever().search("what is phoenix?", 3)
    text_only = memory()
    assert services.images.start()
    for seed in range(3):
        services.images.search(decode_image(screenshot(seed)), 3)
    both = memory()
print(f"| bot with MiniLM, after a text question | {text_only}")
print(f"| bot with MiniLM + ViT-B-32, after a text question and 3 image queries | {both}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    latency = sub.add_parser("latency")
    latency.add_argument("--images", type=int, default=100)
    latency.add_argument("--docs", type=int, default=300)
    latency.add_argument("--queries", type=int, default=20)
    ingest = sub.add_parser("ingest")
    ingest.add_argument("--images", type=int, default=32)
    ingest.add_argument("--docs", type=int, default=100)
    sub.add_parser("memory")
    for command in (latency, ingest):
        command.add_argument("--threads", type=int, default=0,
                             help="torch threads (default: torch's own choice); with 1, CPU time "
                                  "per query is the cost on an idle core however busy the machine is")
    args = parser.parse_args()
    import torch

    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)

    print(f"<!-- {ARCH} random weights, torch {torch.__version__}, {torch.get_num_threads()} threads,"
          f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} -->")
    {"latency": cmd_latency, "ingest": cmd_ingest, "memory": cmd_memory}[args.what](args)
    print(f"<!-- this process peaked at {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MB -->", file=sys.stderr)


if __name__ == "__main__":
    main()
