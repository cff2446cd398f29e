"""Knowledge-engine benchmarks: query latency at 100,000 chunks, ingest throughput, and
peak memory of a process answering questions with the default model.

    .venv/bin/python bench/engine_bench.py latency --chunks 100000 --queries 200
    .venv/bin/python bench/engine_bench.py ingest --docs 2353 --rounds 3
    .venv/bin/python bench/engine_bench.py memory

Latency is a whole `Retriever.search` (clean query, embed, Chroma HNSW, BM25, fusion,
grouping into documents) as a ratio to the bare query embedding, both measured in the
same run on the same questions. The 100,000 chunks are the shared Jargon File and
Debian FAQ, each text repeated with a copy number and its vector jittered, so that the
index holds 100,000 distinct entries without embedding the same text 40 times.
"""

from __future__ import annotations

import argparse
import os
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

from bench.shared_corpus import corpus, faq_questions  # noqa: E402
from engine.embedders import SentenceTransformerEmbedder  # noqa: E402
from engine.index import ChunkIndex, make_client  # noqa: E402
from engine.knowledge.chunking import chunk_document  # noqa: E402
from engine.knowledge.ingest import Ingestor  # noqa: E402
from engine.search.retrieval import Retriever  # noqa: E402
from engine.types import Chunk, Document  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def build_big_index(embedder: SentenceTransformerEmbedder, target: int) -> ChunkIndex:
    """The shared corpus, copied with jittered vectors until it holds `target` chunks."""
    home = CACHE / f"big-{target}"
    index = ChunkIndex(make_client(home), embedder.model_id)
    if index.count() >= target:
        print(f"reusing {index.count()} chunks in {home}", file=sys.stderr)
        return index
    docs = corpus()
    base: list[tuple[Document, Chunk]] = [(d, c) for d in docs for c in chunk_document(d)]
    print(f"embedding {len(base)} unique chunks", file=sys.stderr)
    vectors = embedder.embed_documents([c.embedding_text for _, c in base])
    rng = np.random.default_rng(7)
    written, copy = 0, 0
    while written < target:
        take = base[: target - written]
        chunks = [Chunk(doc_id=f"{d.doc_id}~{copy}" if copy else d.doc_id, position=c.position,
                        text=c.text if not copy else f"{c.text} (copy {copy})", title=c.title,
                        source=c.source) for d, c in take]
        documents = {ch.doc_id: Document(doc_id=ch.doc_id, text="", title=ch.title, source=ch.source)
                     for ch in chunks}
        jitter = vectors[: len(take)] + (rng.normal(0, 0.02, (len(take), vectors.shape[1])) if copy else 0)
        jitter = jitter / np.linalg.norm(jitter, axis=1, keepdims=True)
        index.upsert(chunks, jitter.astype(np.float32), documents)
        written += len(take)
        copy += 1
        print(f"indexed {written}/{target}", file=sys.stderr)
    return index


def latency(args: argparse.Namespace) -> None:
    """Questions go through ONNX Runtime as they do when Argot answers (`engine.onnxqueries`);
    the PyTorch embedding of the same model is timed too, the floor before it."""
    embedder = SentenceTransformerEmbedder(query_folder=CACHE / "onnx-minilm")
    torch_embedder = SentenceTransformerEmbedder()
    index = build_big_index(torch_embedder, args.chunks)
    questions = [q for q, _ in faq_questions()][: args.queries]
    retriever = Retriever(index, embedder)
    torch_embedder.embed_query(questions[0])
    for mode in ("dense", "bm25", "hybrid"):  # warm up: model, HNSW pages, BM25 build
        retriever.search(questions[0], k=5, mode=mode)  # type: ignore[arg-type]
    timings: dict[str, list[float]] = {"embed": [], "embed (PyTorch)": [], "dense": [], "bm25": [],
                                       "hybrid": []}
    for question in questions:  # PyTorch apart: its idle threads spin and slow what follows
        start = time.perf_counter()
        torch_embedder.embed_query(question)
        timings["embed (PyTorch)"].append(time.perf_counter() - start)
    for question in questions:  # interleaved, so machine noise hits every column alike
        time.sleep(args.spacing)
        start = time.perf_counter()
        embedder.embed_query(question)
        timings["embed"].append(time.perf_counter() - start)
        for mode in ("dense", "bm25", "hybrid"):
            time.sleep(args.spacing)
            start = time.perf_counter()
            retriever.search(question, k=5, mode=mode)  # type: ignore[arg-type]
            timings[mode].append(time.perf_counter() - start)
    base50 = statistics.median(timings["embed"])
    spaced = f", {args.spacing * 1000:.0f} ms between questions" if args.spacing else ", back to back"
    print(f"\nQuery latency at {index.count():,} chunks, {len(questions)} questions, k=5{spaced}\n")
    print("| path | p50 ms | p95 ms | p50 ratio to bare embedding | p95 ratio |")
    print("|---|---|---|---|---|")
    base95 = percentile(timings["embed"], 95)
    torch50 = statistics.median(timings["embed (PyTorch)"])
    for name, values in timings.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        label = {"embed": "bare query embedding (ONNX Runtime)",
                 "embed (PyTorch)": "bare query embedding (PyTorch)"}.get(name, f"ask ({name})")
        print(f"| {label} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p50 / base50:.2f} | {p95 / base95:.2f} |")
    print("\np50 ratios to the PyTorch embedding: " + ", ".join(
        f"{name} {statistics.median(timings[name]) / torch50:.2f}" for name in ("dense", "bm25", "hybrid")))


def ingest(args: argparse.Namespace) -> None:
    embedder = SentenceTransformerEmbedder()
    docs = corpus()[: args.docs]
    texts = [c.embedding_text for d in docs for c in chunk_document(d)]
    embedder.embed_documents(texts[:64])  # warm up
    bare, full = [], []
    for round_number in range(args.rounds):
        start = time.perf_counter()
        embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
        bare.append(len(texts) / (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as home:
            index = ChunkIndex(make_client(Path(home)), f"ingest-{round_number}")
            start = time.perf_counter()
            report = Ingestor(index, embedder).ingest(docs)
            full.append(report.chunks / (time.perf_counter() - start))
    ratio = statistics.median(f / b for f, b in zip(full, bare, strict=True))
    print(f"\nIngest throughput, {len(docs)} documents = {len(texts)} chunks, {args.rounds} rounds\n")
    print("| path | median chunks/s |")
    print("|---|---|")
    print(f"| bare model.encode | {statistics.median(bare):.0f} |")
    print(f"| argot ingest (chunk, hash, embed, write to Chroma) | {statistics.median(full):.0f} |")
    print(f"\nMedian per-round ratio ingest / bare encode: **{ratio:.2f}**")


MEMORY_CHILD = """
import json, resource, sys
sys.path.insert(0, {repo!r})
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from bot.services import Services
from bot.settings import Settings
from engine.knowledge.sources import collect
services = Services(Settings.from_mapping({{"ARGOT_HOME": {home!r}}}))
if {ingest!r}:
    services.ingestor().ingest(collect([{kb!r}]).documents)
    print(json.dumps({{"after_ingest": peak_mb()}}))
    raise SystemExit
imported = peak_mb()
questions = [json.loads(line)["query"] for line in open({questions!r}) if line.strip()]
retriever = services.retriever()
retriever.search(questions[0], k=5)
loaded = peak_mb()
for question in questions:
    retriever.search(question, k=5)
import psutil
full = psutil.Process().memory_full_info()
print(json.dumps({{"after_imports": imported, "after_first_answer": loaded, "peak": peak_mb(),
                  "uss": full.uss / 2**20, "pss": full.pss / 2**20, "shared": full.shared / 2**20}}))
"""


def memory(args: argparse.Namespace) -> None:
    """Ingest in one process, then measure a fresh process that only answers, as the bot does."""
    import json

    repo = Path(__file__).resolve().parent.parent
    figures = {}
    with tempfile.TemporaryDirectory() as home:
        for ingest_first in (True, False):
            code = MEMORY_CHILD.format(repo=str(repo), home=home, kb=str(repo / "bot/demo/kb"),
                                       questions=str(repo / "bot/demo/questions.jsonl"),
                                       ingest=ingest_first)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True)
            figures.update(json.loads(out.stdout.strip().splitlines()[-1]))
    print("\nPeak RSS (MB), default MiniLM, hybrid retrieval, demo knowledge base\n")
    print("| process | peak RSS MB |")
    print("|---|---|")
    print(f"| ingest the demo KB (separate process) | {figures['after_ingest']:.0f} |")
    print(f"| answering process: after imports | {figures['after_imports']:.0f} |")
    print(f"| answering process: after the first answer (model loaded) | "
          f"{figures['after_first_answer']:.0f} |")
    print(f"| answering process: after 211 questions (peak RSS) | **{figures['peak']:.0f}** |")
    print(f"| ... of which private (USS) / proportional (PSS) at the end | "
          f"{figures['uss']:.0f} / {figures['pss']:.0f} |")
    print(f"| ... of which shared, file-backed (mostly torch's CUDA libraries) | "
          f"{figures['shared']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--chunks", type=int, default=100_000)
    lat.add_argument("--queries", type=int, default=112)
    lat.add_argument("--spacing", type=float, default=0.0,
                     help="seconds between questions (0: back to back; the query batcher waits "
                          "for company after a batch in the last 50 ms, 0.06 measures a lone "
                          "question as the Slack latency benchmark asks)")
    lat.set_defaults(run=latency)
    ing = sub.add_parser("ingest")
    ing.add_argument("--docs", type=int, default=2353)
    ing.add_argument("--rounds", type=int, default=3)
    ing.set_defaults(run=ingest)
    mem = sub.add_parser("memory")
    mem.set_defaults(run=memory)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
