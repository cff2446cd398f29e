"""Query-side adaptation, evaluated for issue 15: train only the question side of the
embedding model against the frozen chunk vectors of the served collection, and score it
on the jargon benchmark's held-out questions beside the base model.

If the question side alone learnt the slang, a promotion would need no re-embedding of
the corpus. Here the chunk vectors stay the base model's; the model learns to put each
rated question next to the chunks of its 👍 document among every chunk of the corpus (a
softmax over the whole corpus, the 👍 document's chunks pooled with logsumexp), from the
very examples the benchmark's anchors train on (`bench.jargon_eval.rated_examples`: the
rated questions with the FAQ and glossary pairs).

    # a copy of the jargon benchmark's home once round 1 is rated (the anchors train then):
    cp -r bench/.cache/jargon/demo-run /tmp/demo-round1
    .venv/bin/python bench/query_side.py --home /tmp/demo-round1 --corpus demo

Prints the figures as a table and writes them as JSON (`--out`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.jargon_bench import SEED, held_out_sets, jargon_split, say, services_at  # noqa: E402
from bench.jargon_eval import in_memory, measure, rated_examples  # noqa: E402


def chunk_documents(corpus: Any) -> np.ndarray:
    """The document row of every chunk of an `EvalCorpus`."""
    counts = np.diff(np.append(corpus.starts, len(corpus.chunks)))
    return np.repeat(np.arange(len(corpus.doc_ids)), counts)


def train_query_side(model: Any, pairs: Sequence[tuple[str, int]], vectors: np.ndarray,
                     chunk_doc: np.ndarray, *, epochs: int, batch_size: int, learning_rate: float,
                     temperature: float, seed: int) -> dict[str, Any]:
    """Fine-tune `model` (a SentenceTransformer) in place on (question, document row)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's own convention

    torch.manual_seed(seed)
    order = random.Random(seed)
    documents = F.normalize(torch.from_numpy(vectors), dim=-1)
    owner = torch.from_numpy(chunk_doc)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    started, steps = time.perf_counter(), 0
    for epoch in range(epochs):
        losses = []
        shuffled = list(pairs)
        order.shuffle(shuffled)
        for start in range(0, len(shuffled), batch_size):
            batch = shuffled[start:start + batch_size]
            features = model.preprocess([text for text, _ in batch])
            questions = F.normalize(model(dict(features))["sentence_embedding"], dim=-1)
            logits = questions @ documents.T / temperature
            right = owner.unsqueeze(0) == torch.tensor([row for _, row in batch]).unsqueeze(1)
            loss = (logits.logsumexp(1) - logits.masked_fill(~right, float("-inf")).logsumexp(1)).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
            losses.append(loss.item())
        say(f"  epoch {epoch + 1}/{epochs}: mean loss {np.mean(losses):.3f}")
    model.eval()
    return {"pairs": len(pairs), "steps": steps, "epochs": epochs,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a jargon benchmark home with ratings")
    parser.add_argument("--corpus", choices=["demo", "debian"], default="demo")
    parser.add_argument("--split", default=SEED, help="the benchmark's split (jargon_bench.py --seed)")
    parser.add_argument("--rounds", type=int, default=3, help="as the benchmark run (the split)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from engine.embedders import load_sentence_transformer
    from engine.learning.mining import ActiveCorpus
    from engine.learning.training import in_memory_embedder

    _, split = jargon_split(args.corpus, args.rounds, args.split)
    sets = held_out_sets(split.held_out)
    services = services_at(args.home)
    if services.registry.active().name != "base":
        raise SystemExit(f"{args.home} serves {services.registry.active().name}: take the copy "
                         "before the first argot train promotes a model")
    served = ActiveCorpus.from_index(services.index())  # the frozen document side
    corpus, vectors = served.corpus, served.vectors
    model = load_sentence_transformer(services.workbench().base_model)
    rows = [measure("base (all-MiniLM-L6-v2)", in_memory(corpus, in_memory_embedder(model, "base"), vectors),
                    sets)]

    examples = rated_examples(services, 1)
    row_of = served.doc_row()
    pairs = [(e.anchor, row_of[e.positive_doc]) for e in examples if e.positive_doc in row_of]
    say(f"training the question side on {len(pairs)} pairs ({args.epochs} epochs)")
    training = train_query_side(model, pairs, vectors, chunk_documents(corpus), epochs=args.epochs,
                                batch_size=args.batch_size, learning_rate=args.learning_rate,
                                temperature=args.temperature, seed=args.seed)
    tuned = in_memory_embedder(model, "query-side")
    rows.append(measure("question side only (documents frozen)", in_memory(corpus, tuned, vectors), sets))

    print("| row | hybrid slang MRR@10 | hybrid plain MRR@10 | dense slang MRR@10 | dense plain MRR@10 |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        figures = [row.metrics[mode][kind]["mrr@10"]
                   for mode in ("hybrid", "dense") for kind in ("slang", "plain")]
        print(f"| {row.name} | " + " | ".join(f"{x:.3f}" for x in figures) + " |")
    print(f"training: {training}")
    if args.out:
        args.out.write_text(json.dumps({"command": sys.argv, "settings": vars(args) | {"home": str(args.home),
                                        "out": str(args.out)}, "training": training,
                                        "rows": [{"name": r.name, "metrics": r.metrics,
                                                  "reciprocal_ranks": r.ranks} for r in rows]}, indent=1))


if __name__ == "__main__":
    main()
