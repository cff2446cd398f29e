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
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.jargon_bench import held_out_sets, jargon_split  # noqa: E402
from bench.vocabulary_offline import SHOWN  # noqa: E402
from engine.search.vocabulary import Vocabulary  # noqa: E402

WEIGHTINGS = ((1.0, 1.0), (1.0, 0.5), (1.0, 0.25), (1.0, 0.0))


class Bm25Only(Vocabulary):
    def expand(self, query: Any) -> Any:
        added = self.expansions_for(query.text)
        return replace(query, words=f"{query.words} {' '.join(added)}") if added else query


class EmbedderOnly(Vocabulary):
    def expand(self, query: Any) -> Any:
        added = self.expansions_for(query.text)
        return replace(query, text=f"{query.text} ({'; '.join(added)})") if added else query


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="ARGOT_HOME of a benchmark run")
    parser.add_argument("--corpus", default="debian", choices=["demo", "debian"])
    parser.add_argument("--rounds-rated", type=int, default=2)
    parser.add_argument("--on-rated", metavar="VERSION",
                        help="judge on the rated questions VERSION never saw")
    args = parser.parse_args()
    if args.on_rated:
        on_rated(args.home, args.on_rated)
        return

    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import QuerySet
    from engine.learning.expansions import LearningCorpus
    from engine.learning.mining import ActiveCorpus
    from engine.learning.sides import Answers, ModelSide, measure, question_lists
    from engine.learning.trainingdata import RatedQuestion
    from engine.learning.vocabulary import learn_vocabulary
    from engine.search.lexical import Bm25

    services = Services(Settings.from_mapping({"ARGOT_HOME": args.home}))
    versions = services.registry.versions()
    _, split = jargon_split(args.corpus, 3)
    held = held_out_sets(split.held_out)
    base = versions[0]
    searcher = services.retriever(base)
    rated = []
    for question in [q for r in split.rounds[:args.rounds_rated] for q in r]:
        for text in (question.slang, *question.reasks):
            right = [h.doc_id for h in searcher.search(text, k=SHOWN) if h.doc_id in question.relevant]
            if right:
                rated.append(RatedQuestion(text, {right[0]: 1.0}))
    corpus = ActiveCorpus.from_index(services.index(base)).corpus
    vocabulary = learn_vocabulary(rated, LearningCorpus(corpus.document_texts()))
    print("vocabulary:", "; ".join(e.describe() for e in vocabulary.entries))
    variants = {"none": Vocabulary(), "as served": vocabulary, "BM25 only": Bm25Only(vocabulary.entries),
                "embedder only": EmbedderOnly(vocabulary.entries)}
    print("| model | questions | vocabulary | " + " | ".join(f"{d:g} / {b:g}" for d, b in WEIGHTINGS) + " |")
    print("|---|---|---|" + "---:|" * len(WEIGHTINGS))
    for version in versions:
        active = ActiveCorpus.from_index(services.index(version))
        side = ModelSide(version.name, services.embedder(version), active.vectors)
        bm25 = Bm25.over(active.corpus.chunks)
        for kind, (texts, relevant) in held.items():
            queries = QuerySet.from_pairs(list(zip(texts, relevant, strict=True)))
            for label, expand in variants.items():
                answers = Answers.of(queries, question_lists(active.corpus, queries, side, expand, None,
                                                             bm25), bm25)
                cells = [f"{measure([answers], [*w, 0.0]).scores.mrr_at_10:.3f}" for w in WEIGHTINGS]
                print(f"| {version.name} | {kind} | {label} | " + " | ".join(cells) + " |", flush=True)


def on_rated(home: str, name: str) -> None:
    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import QuerySet
    from engine.learning.collect import trained_on
    from engine.learning.expansions import LearningCorpus
    from engine.learning.mining import ActiveCorpus
    from engine.learning.sides import Answers, ModelSide, measure, question_lists
    from engine.learning.trainingdata import gather_ratings
    from engine.learning.vocabulary import learn_vocabulary
    from engine.search.lexical import Bm25

    services = Services(Settings.from_mapping({"ARGOT_HOME": home}))
    version = next(v for v in services.registry.versions() if v.name == name)
    ratings = gather_ratings(services.feedback)
    train, _ = ratings.split()
    seen = trained_on(version)
    new = [q for q in train if q.source == "rating" and q.positives and q.key not in seen]
    active = ActiveCorpus.from_index(services.index(version))
    known = set(active.corpus.doc_ids)
    vocabulary = learn_vocabulary([q for q in train if q.key in seen],
                                  LearningCorpus(active.corpus.document_texts()))
    print(f"{len(new)} rated questions {name} never saw; vocabulary from the {len(seen)} it learnt from:",
          "; ".join(e.describe() for e in vocabulary.entries))
    queries = QuerySet.from_pairs([(q.text, sorted(set(q.positives) & known)) for q in new])
    weights = ratings.judging_weights()
    side = ModelSide(name, services.embedder(version), active.vectors)
    bm25 = Bm25.over(active.corpus.chunks)
    variants = {"none": Vocabulary(), "as served": vocabulary, "BM25 only": Bm25Only(vocabulary.entries),
                "embedder only": EmbedderOnly(vocabulary.entries)}
    print("| model | vocabulary | " + " | ".join(f"{d:g} / {b:g}" for d, b in WEIGHTINGS) + " |")
    print("|---|---|" + "---:|" * len(WEIGHTINGS))
    for label, expand in variants.items():
        answers = Answers.of(queries, question_lists(active.corpus, queries, side, expand, None, bm25),
                             bm25, weights)
        cells = [f"{measure([answers], [*w, 0.0]).scores.ndcg_at_10:.3f}" for w in WEIGHTINGS]
        print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
