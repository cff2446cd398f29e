"""How long an answer's Chroma query waits while a learning cycle writes a new collection.

    .venv/bin/python bench/write_contention.py                  # blocks 256, 64 and 32
    .venv/bin/python bench/write_contention.py --blocks 32 --seconds 5

Embedded Chroma keeps everything in one SQLite database, and a write that commits makes
readers in other processes wait. This benchmark measures that wait with the product's
own code on both sides: a writer process runs `engine.learning.promotion.write_collection` (the
re-embedding step of a cycle) with a given block size, while this process queries the
active collection (`ChunkIndex.query`, k = 20) every 10 ms. Reported per block size:
query p50 / p95 / max idle and during the writes, and how long the writes took.

Data: the learning benchmark's cached ARGOT_HOME (the Debian FAQ answers and the Jargon
File embedded with MiniLM, 2,951 chunks; `bench/learning_bench.py` builds it on first
use). The written vectors are the active ones: only the writing is measured.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.sampling import for_seconds, sample, summary_ms  # noqa: E402
from engine.index import ChunkIndex, indexed_collections, make_client  # noqa: E402

WORK = Path(__file__).resolve().parent / ".cache" / "contention"
BASE_HOME = Path(__file__).resolve().parent / ".cache" / "learning" / "base-home"


def writer(home: str, block: int, started: Any, result: Any) -> None:
    import engine.learning.promotion as promotion
    from engine.learning.mining import ActiveCorpus

    client = make_client(Path(home))
    active = ChunkIndex(client, indexed_collections(client)[0])
    corpus = ActiveCorpus.from_index(active)
    promotion.WRITE_BLOCK = block
    started.set()
    began = time.perf_counter()
    promotion.write_collection(client, "ft9999", corpus, corpus.vectors)
    result.put(time.perf_counter() - began)


def measure(block: int, idle_seconds: float) -> dict[str, Any]:
    home = WORK / f"home-{block}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(BASE_HOME, home)
    client = make_client(home)
    active = ChunkIndex(client, indexed_collections(client)[0])
    rng = np.random.default_rng(block)
    probes = rng.standard_normal((64, 384)).astype(np.float32)
    counter = iter(range(10**9))

    def query() -> None:
        active.query(probes[next(counter) % len(probes)], 20)

    for _ in range(20):
        query()
    idle = sample(query, pause=0.01, keep_going=for_seconds(idle_seconds))
    context = multiprocessing.get_context("spawn")
    started, result = context.Event(), context.Queue()
    process = context.Process(target=writer, args=(str(home), block, started, result))
    process.start()
    started.wait()
    during = sample(query, pause=0.01, keep_going=process.is_alive)
    process.join()
    shutil.rmtree(home, ignore_errors=True)
    return {"block": block, "write_seconds": round(result.get(timeout=5), 1),
            "idle_ms": summary_ms(idle), "during_ms": summary_ms(during)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[256, 64, 32])
    parser.add_argument("--seconds", type=float, default=10.0, help="idle window per block size")
    args = parser.parse_args()
    if not (BASE_HOME / "ready").exists():
        sys.exit(f"{BASE_HOME} is missing: run `bench/learning_bench.py latency` once to build it")
    WORK.mkdir(parents=True, exist_ok=True)
    results = [measure(block, args.seconds) for block in args.blocks]
    print("| chunks per write | write s | idle p50 / p95 / max ms | during p50 / p95 / max ms |")
    print("|---:|---:|---|---|")
    for r in results:
        idle, during = r["idle_ms"], r["during_ms"]
        print(f"| {r['block']} | {r['write_seconds']} | {idle['p50']} / {idle['p95']} / {idle['max']} "
              f"| {during['p50']} / {during['p95']} / {during['max']} |")
    (WORK / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
