"""Do the questions a cycle judges on favour what answers today?

A cycle judges on rated questions that have a 👍 page, and most have one because the
served version showed it; the ones it missed are there only when someone replied with the
right page. This splits the jargon benchmark's held-out questions the same way (is the
right page among what the served version shows: its 5 answers and 3 alternatives) and
scores another version's model on both parts under each fusion weighting (nDCG@10, the
cycle's measure), on a home a benchmark run left (`bench/.cache/jargon/<corpus>-run`).

    .venv/bin/python bench/judging_bias.py --home bench/.cache/jargon/debian-run base ft0001
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fusion_kinds import row  # noqa: E402
from bench.jargon_bench import SEED, held_out_sets, jargon_split  # noqa: E402
from bench.vocabulary_offline import SHOWN  # noqa: E402

WEIGHTINGS = ((1.0, 1.0), (1.0, 0.5), (1.0, 0.25), (1.0, 0.0), (0.5, 1.0))


def version_side(services: Any, version: Any) -> tuple[Any, Any, Any]:
    """(its corpus, the version's model as the levers see it, BM25 over the corpus)."""
    from engine.learning.mining import ActiveCorpus
    from engine.learning.sides import ModelSide
    from engine.search.lexical import Bm25

    active = ActiveCorpus.from_index(services.index(version))
    side = ModelSide(version.name, services.embedder(version), active.vectors)
    return active.corpus, side, Bm25.over(active.corpus.chunks)


def header(first: str, weightings: tuple[tuple[float, float], ...]) -> str:
    return (f"| {first} | n | " + " | ".join(f"{d:g} / {b:g}" for d, b in weightings) + " |\n"
            + "|---|---:|" + "---:|" * len(weightings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="ARGOT_HOME of a benchmark run")
    parser.add_argument("--corpus", default="debian", choices=["demo", "debian"])
    parser.add_argument("--seed", default=SEED, help="the benchmark's split (jargon_bench.py --seed)")
    parser.add_argument("--kind", default="slang", choices=["slang", "plain"])
    parser.add_argument("served", help="the version whose answers people rated")
    parser.add_argument("judged", help="the version whose model is scored")
    args = parser.parse_args()

    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import QuerySet
    from engine.learning.sides import Answers, question_lists
    from engine.search.vocabulary import Vocabulary

    services = Services(Settings.from_mapping({"ARGOT_HOME": args.home}))
    versions = {v.name: v for v in services.registry.versions()}
    _, split = jargon_split(args.corpus, 3, args.seed)
    texts, relevant = held_out_sets(split.held_out)[args.kind]
    searcher = services.retriever(versions[args.served])
    shown = [any(hit.doc_id in rel for hit in searcher.search(text, k=SHOWN))
             for text, rel in zip(texts, relevant, strict=True)]
    print(f"{sum(shown)} of {len(shown)} held-out {args.kind} questions have their page shown "
          f"by {args.served}")
    print(header("model, questions", WEIGHTINGS))
    for name in dict.fromkeys((args.served, args.judged)):
        corpus, side, bm25 = version_side(services, versions[name])
        for part, keep in (("page shown", True), ("page missed", False)):
            queries = QuerySet.from_pairs([(t, r) for t, r, s in zip(texts, relevant, shown, strict=True)
                                           if s == keep])
            answers = Answers.of(queries, question_lists(corpus, queries, side, Vocabulary(), None, bm25),
                                 bm25)
            print(row(f"{name}, {part}", answers, WEIGHTINGS, "ndcg_at_10"), flush=True)


if __name__ == "__main__":
    main()
