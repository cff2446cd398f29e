"""`argot eval` on two data sets, without an index: which model and which retrieval mode?

    .venv/bin/python bench/eval_models.py                    # demo + Debian FAQ
    .venv/bin/python bench/eval_models.py --model BAAI/bge-small-en-v1.5   # add a model

Data sets:
- demo: the demo knowledge base (bot/demo/kb) with bot/demo/questions.jsonl;
- debian: each Debian FAQ question against every Debian FAQ answer (without its
  question) plus every Jargon File entry as "{term}: {definition}" (../shared/data).

Models: the bundled all-MiniLM-L6-v2 and, as the second local model, the same model cut
to its first 3 of 6 transformer layers (made once under bench/.cache; half the compute,
a real speed/quality trade-off a team might weigh), plus any `--model`. Each model is
measured dense and hybrid, and BM25 alone — the same `engine.evaluation.compare.compare` that
`argot eval` runs (through the search that answers), printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.shared_corpus import jargon_documents, rows  # noqa: E402
from engine.embedders import SentenceTransformerEmbedder, default_model_path  # noqa: E402
from engine.evaluation.compare import ModelCandidate, compare  # noqa: E402
from engine.evaluation.corpus import EvalCorpus  # noqa: E402
from engine.evaluation.querysets import QuerySet  # noqa: E402
from engine.evaluation.scoreboard import heading, render_markdown  # noqa: E402
from engine.evaluation.vectors import EmbeddingCache  # noqa: E402
from engine.knowledge.chunking import chunk_document  # noqa: E402
from engine.knowledge.sources import collect  # noqa: E402
from engine.types import Document  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache"


def shallow_minilm(layers: int = 3) -> Path:
    """All-MiniLM-L6-v2 with only its first `layers` transformer layers, saved once."""
    folder = CACHE / f"all-MiniLM-L{layers}-of-L6"
    if not (folder / "modules.json").exists():
        model = SentenceTransformerEmbedder(default_model_path()).model
        encoder = model[0].auto_model
        encoder.encoder.layer = encoder.encoder.layer[:layers]
        encoder.config.num_hidden_layers = layers
        model.save(str(folder))
    return folder


def demo_set() -> tuple[EvalCorpus, QuerySet]:
    documents = collect([str(REPO / "bot" / "demo" / "kb")]).documents
    corpus = EvalCorpus.from_chunks(c for d in documents for c in chunk_document(d))
    queries = QuerySet.load(REPO / "bot" / "demo" / "questions.jsonl").restricted_to(corpus.doc_ids)
    return corpus, queries


def debian_set() -> tuple[EvalCorpus, QuerySet]:
    faq = rows("debian-faq.jsonl")
    answers = [Document(doc_id=row["id"], text=row["answer"], source="debian-faq") for row in faq]
    documents = answers + jargon_documents()
    corpus = EvalCorpus.from_chunks(c for d in documents for c in chunk_document(d))
    queries = QuerySet.from_pairs([(row["question"], [row["id"]]) for row in faq],
                                  source="Debian FAQ questions")
    return corpus, queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="another model to compare")
    parser.add_argument("--only", choices=["demo", "debian"], help="one data set")
    parser.add_argument("--no-cache", action="store_true", help="embed everything afresh")
    args = parser.parse_args()
    models = [ModelCandidate("all-MiniLM-L6-v2", lambda: SentenceTransformerEmbedder()),
              ModelCandidate("MiniLM first 3 of 6 layers",
                             lambda: SentenceTransformerEmbedder(str(shallow_minilm())))]
    models += [ModelCandidate(name, lambda n=name: SentenceTransformerEmbedder(n))
               for name in args.model]
    cache = EmbeddingCache(None if args.no_cache else CACHE / "eval")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}\n")
    sets = {"demo": demo_set, "debian": debian_set}
    for name, build in sets.items():
        if args.only and name != args.only:
            continue
        corpus, queries = build()
        started = time.perf_counter()
        table = compare(corpus, queries, models, cache=cache,
                        progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
        best = table.best()
        print(f"## {name}: {heading(table)}\n")
        print(render_markdown(table))
        by_mode = {}
        for row in table.rows:
            if row.scores and row.name in ("all-MiniLM-L6-v2", "bm25"):
                by_mode[row.mode] = row.scores.ndcg_at_10
        print(f"\nBest: {best.name if best else '-'} {best.mode if best else ''}; "
              f"MiniLM nDCG@10 by mode: "
              + ", ".join(f"{mode} {value:.3f}" for mode, value in by_mode.items())
              + f"; {time.perf_counter() - started:.0f} s\n")
        for warning in table.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
