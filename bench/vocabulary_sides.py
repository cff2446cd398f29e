"""Where the learnt vocabulary helps: each version's model with it applied to the
embedder and BM25 (as served), to BM25 only, or to the embedder only, under several
fusion weightings; held-out MRR@10 of the jargon benchmark, on a home a benchmark run
left. The vocabulary is learnt as `bench/vocabulary_offline.py` learns it (the rated
rounds' questions rated by a simulated asker against the base model's answers).

`--on-rated VERSION` asks instead what a cycle's judging questions say: the rated
questions VERSION did not learn from (those people asked of it, rated in Slack), scored
with the vocabulary learnt from the questions it did learn from, by nDCG@10 (the cycle's
measure) with the cycle's judging weights.

    .venv/bin/python bench/vocabulary_sides.py --home bench/.cache/jargon/debian-run --rounds-rated 2
    .venv/bin/python bench/vocabulary_sides.py --home bench/.cache/jargon/debian-run --on-rated ft0001
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fusion_kinds import row  # noqa: E402
from bench.jargon_bench import SEED, held_out_sets, jargon_split  # noqa: E402
from bench.judging_bias import header, version_side  # noqa: E402
from bench.vocabulary_offline import simulated_ratings  # noqa: E402
from engine.search.vocabulary import Vocabulary  # noqa: E402

WEIGHTINGS = ((1.0, 1.0), (1.0, 0.5), (1.0, 0.25), (1.0, 0.0))


class Bm25Only(Vocabulary):
    """The served expansion, kept for BM25's words only."""

    def expand(self, query: Any) -> Any:
        return replace(query, words=super().expand(query).words)


class EmbedderOnly(Vocabulary):
    """The served expansion, kept for the embedder's text only."""

    def expand(self, query: Any) -> Any:
        return replace(query, text=super().expand(query).text)


def sides_of(vocabulary: Vocabulary) -> dict[str, Vocabulary]:
    return {"none": Vocabulary(), "as served": vocabulary, "BM25 only": Bm25Only(vocabulary.entries),
            "embedder only": EmbedderOnly(vocabulary.entries)}


def rows(label: str, answering: tuple[Any, Any, Any], queries: Any, vocabulary: Vocabulary,
         metric: str, weights: Mapping[str, float] | None = None) -> None:
    """One row per side of the vocabulary: `queries` answered by a version (`version_side`)."""
    from engine.learning.sides import Answers, question_lists

    corpus, side, bm25 = answering
    for name, expand in sides_of(vocabulary).items():
        found = question_lists(corpus, queries, side, expand, None, bm25)
        print(row(f"{label}, vocabulary {name}", Answers.of(queries, found, bm25, weights), WEIGHTINGS,
                  metric), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="ARGOT_HOME of a benchmark run")
    parser.add_argument("--corpus", default="debian", choices=["demo", "debian"])
    parser.add_argument("--seed", default=SEED, help="the benchmark's split (jargon_bench.py --seed)")
    parser.add_argument("--rounds-rated", type=int, default=2)
    parser.add_argument("--on-rated", metavar="VERSION",
                        help="judge on the rated questions VERSION never saw")
    args = parser.parse_args()

    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import QuerySet
    from engine.learning.expansions import LearningCorpus
    from engine.learning.vocabulary import learn_vocabulary

    services = Services(Settings.from_mapping({"ARGOT_HOME": args.home}))
    versions = services.registry.versions()
    if args.on_rated:
        on_rated(services, next(v for v in versions if v.name == args.on_rated))
        return
    _, split = jargon_split(args.corpus, 3, args.seed)
    answering = {v.name: version_side(services, v) for v in versions}
    asked = [q for r in split.rounds[:args.rounds_rated] for q in r]
    rated = simulated_ratings(services.retriever(versions[0]), asked)
    corpus = answering[versions[0].name][0]
    vocabulary = learn_vocabulary(rated, LearningCorpus(corpus.document_texts()))
    print("vocabulary:", "; ".join(e.describe() for e in vocabulary.entries))
    print(header("model, questions, vocabulary", WEIGHTINGS))
    for name, parts in answering.items():
        for kind, (texts, relevant) in held_out_sets(split.held_out).items():
            queries = QuerySet.from_pairs(list(zip(texts, relevant, strict=True)))
            rows(f"{name}, {kind}", parts, queries, vocabulary, "mrr_at_10")


def on_rated(services: Any, version: Any) -> None:
    from engine.evaluation.querysets import QuerySet
    from engine.learning.collect import trained_on
    from engine.learning.expansions import LearningCorpus
    from engine.learning.trainingdata import gather_ratings
    from engine.learning.vocabulary import learn_vocabulary

    ratings = gather_ratings(services.feedback)
    train, _ = ratings.split()
    seen = trained_on(version)
    new = [q for q in train if q.source == "rating" and q.positives and q.key not in seen]
    answering = version_side(services, version)
    corpus = answering[0]
    learnt_from = [q for q in train if q.key in seen]
    vocabulary = learn_vocabulary(learnt_from, LearningCorpus(corpus.document_texts()))
    print(f"{len(new)} rated questions {version.name} never saw; vocabulary from the {len(seen)} it "
          "learnt from:", "; ".join(e.describe() for e in vocabulary.entries))
    known = set(corpus.doc_ids)
    queries = QuerySet.from_pairs([(q.text, sorted(set(q.positives) & known)) for q in new])
    print(header("model, vocabulary", WEIGHTINGS))
    rows(version.name, answering, queries, vocabulary, "ndcg_at_10", ratings.judging_weights())


if __name__ == "__main__":
    main()
