"""Where the learnt vocabulary helps: each version's model with it applied to the
embedder and BM25 (as served), to BM25 only, or to the embedder only, under several
fusion weightings; held-out MRR@10 of the jargon benchmark, on a home a benchmark run
left. The vocabulary is learnt as `bench/vocabulary_offline.py` learns it (the rated
rounds' questions rated by a simulated asker against the base model's answers).

    .venv/bin/python bench/vocabulary_sides.py --home bench/.cache/jargon/debian-run --rounds-rated 2
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
