"""How long one training step of the default model takes in float32 and in bfloat16.

The product's training step (MultipleNegativesRankingLoss over anchor, positive and one
negative; batch 16; texts cut to 128 tokens; the word embeddings and the lowest 2 layers
frozen), on passages of the demo knowledge base, with the two precisions taking turns so
that both see the same load. Prints the median step of each and their ratio.

    .venv/bin/python bench/train_precision.py [--steps 12] [--threads 2]

Quality is not measured here: the jargon benchmark trains a whole cycle in each precision
(docs/benchmarks.md, "Training in bfloat16").
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS_A_PASSAGE = 160
BATCH = 16


def passages() -> list[str]:
    from bot.playground.demo import KNOWLEDGE_BASE

    words = " ".join(p.read_text() for p in sorted(KNOWLEDGE_BASE.rglob("*.md"))).split()
    return [" ".join(words[i:i + WORDS_A_PASSAGE]) for i in range(0, len(words), WORDS_A_PASSAGE)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per precision")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()

    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from engine.embedders import default_model_path, load_sentence_transformer
    from engine.learning.training import TrainingConfig, computing_precision, freeze

    torch.set_num_threads(args.threads)
    config = TrainingConfig()
    texts = passages()
    rng = random.Random(12)
    model = load_sentence_transformer(default_model_path())
    model.max_seq_length = config.max_seq_length
    freeze(model, config.frozen_layers)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW([w for w in model.parameters() if w.requires_grad],
                                  lr=config.learning_rate)
    model.train()

    def step(bf16: bool) -> float:
        anchors = [" ".join(rng.choice(texts).split()[:12]) for _ in range(BATCH)]
        positives, negatives = rng.sample(texts, BATCH), rng.sample(texts, BATCH)
        features = [model.tokenize(t) for t in (anchors, positives, negatives)]
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            value = loss(features, None)
        value.backward()
        optimizer.step()
        optimizer.zero_grad()
        return time.perf_counter() - started

    for bf16 in (False, True, False, True):  # warm-up
        step(bf16)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.steps):
        for bf16 in (False, True):
            times[bf16].append(step(bf16))
    fp32, bf16 = statistics.median(times[False]), statistics.median(times[True])
    print(f"{len(texts)} passages of {WORDS_A_PASSAGE} words, batch {BATCH}, {args.threads} threads, "
          f"{config.frozen_layers} layers frozen; auto precision here: {computing_precision('auto')}")
    print(f"median step: fp32 {fp32:.2f} s, bf16 {bf16:.2f} s; bf16 is {fp32 / bf16:.2f}x as fast")


if __name__ == "__main__":
    main()
