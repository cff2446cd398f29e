"""The learnt vocabulary measured offline on the jargon benchmark's split, in seconds.

No Slack, no training: the rated rounds' questions (each in its four wordings) are rated
by a simulated asker against what the base model shows in hybrid mode (👍 the first
right document among the 5 answers and 3 alternatives, or, with `--perfect`, the right
document always), `learn_vocabulary` learns from rounds 1..N, and the held-out questions
are scored through the serving stack (`engine.learning.sides.measure_profile`).

`--oracle` prints what a perfect learner could reach: a glossary that maps every slang
wording to the plain words it replaced, for all terms, for the terms of at least one
rated question and for those of at least two (what `min_evidence` asks).

    .venv/bin/python bench/vocabulary_offline.py [--corpus demo] [--rounds-rated 1] [--perfect]
    .venv/bin/python bench/vocabulary_offline.py --oracle [--rounds-rated 1]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import jargon_slang as slang  # noqa: E402
from bench.jargon_bench import DEMO_KB, SEED, WORK, held_out_sets, jargon_split  # noqa: E402

SHOWN = 8
"""5 answers and, after a 👎 on the best match, 3 alternatives."""


def base_home(name: str) -> Path:
    home = WORK / f"{name}-offline"
    if not (home / "ready").exists():
        from bot.services import Services
        from bot.settings import Settings

        services = Services(Settings.from_mapping({"ARGOT_HOME": str(home)}))
        if name == "demo":
            from engine.knowledge.sources import collect

            services.ingestor().ingest(collect([str(DEMO_KB)]).documents)
        else:
            from bench.learning_bench import documents

            services.ingestor().ingest(documents())
        (home / "ready").write_text("ok")
    return home


def plain_words(term: slang.Term) -> str:
    """The plain words a term replaces, from its first rule: "(the )?api gateway" → "api gateway"."""
    pattern = re.sub(r"\([^()]*\)\?", " ", term.rules[0][0])
    return " ".join(re.sub(r"[^\w\s-]", "", pattern).split())


def oracle_vocabulary(terms: tuple[slang.Term, ...], keep: Any) -> Any:
    from engine.search.vocabulary import LEARNT, GlossaryEntry, Vocabulary

    return Vocabulary([GlossaryEntry(wording.removeprefix("the "), plain_words(term), 2, LEARNT, (), ())
                       for term in terms if keep(term.slang) for wording in sorted(term.wordings)])


def simulated_ratings(searcher: Any, questions: list[slang.JargonQuestion], *,
                      perfect: bool = False) -> list[Any]:
    """Each question in each of its wordings, rated by a simulated asker: 👍 the first right
    document among what `searcher` shows (with `perfect`, the right document always)."""
    from engine.learning.trainingdata import RatedQuestion

    rated = []
    for question in questions:
        for text in (question.slang, *question.reasks):
            shown = [hit.doc_id for hit in searcher.search(text, k=SHOWN)]
            right = [question.relevant[0]] if perfect else [d for d in shown if d in question.relevant]
            if right:
                rated.append(RatedQuestion(text, {right[0]: 1.0}))
    return rated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="demo", choices=["demo", "debian"])
    parser.add_argument("--seed", default=SEED, help="the benchmark's split (jargon_bench.py --seed)")
    parser.add_argument("--rounds-rated", type=int, default=1)
    parser.add_argument("--perfect", action="store_true")
    parser.add_argument("--show", action="store_true", help="print the learnt entries")
    parser.add_argument("--min-evidence", type=int, default=None,
                        help="rated questions a term needs (default: the learner's)")
    parser.add_argument("--oracle", action="store_true", help="the perfect glossary's ceilings")
    args = parser.parse_args()

    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import QuerySet
    from engine.learning.expansions import LearningCorpus
    from engine.learning.mining import ActiveCorpus
    from engine.learning.sides import ModelSide, measure_profile
    from engine.learning.vocabulary import learn_vocabulary
    from engine.search.profile import LearnedProfile

    services = Services(Settings.from_mapping({"ARGOT_HOME": str(base_home(args.corpus))}))
    active = ActiveCorpus.from_index(services.index())  # chunks and their vectors, aligned
    corpus = active.corpus
    side = ModelSide("active", services.embedder(), active.vectors)
    _, split = jargon_split(args.corpus, 3, args.seed)
    searcher = services.retriever()
    held = held_out_sets(split.held_out)

    def measure(kind: str, profile: Any) -> Any:
        texts, relevant = held[kind]
        return measure_profile(corpus, QuerySet.from_pairs(list(zip(texts, relevant, strict=True))),
                               side, profile).scores

    if args.oracle:
        rated_terms = Counter(t for r in split.rounds[:args.rounds_rated] for q in r for t in q.terms)
        used = Counter(t for q in split.held_out for t in q.terms)
        print(f"{len(split.held_out)} held-out questions use {len(used)} terms; of those "
              f"{sum(1 for t in used if rated_terms[t] >= 1)} are in one rated question or more, "
              f"{sum(1 for t in used if rated_terms[t] >= 2)} in two or more "
              f"(rounds 1..{args.rounds_rated})")
        terms = slang.DEMO_SLANG if args.corpus == "demo" else slang.DEBIAN_SLANG
        print(f"base: slang MRR@10 {measure('slang', LearnedProfile()).mrr_at_10:.3f}")
        for label, least in (("every term", 0), ("terms of >= 1 rated question", 1),
                             ("terms of >= 2 rated questions", 2)):
            vocabulary = oracle_vocabulary(terms, lambda t, least=least: rated_terms[t] >= least)
            found = {kind: measure(kind, LearnedProfile(vocabulary=vocabulary)) for kind in held}
            print(f"perfect glossary, {label}: slang MRR@10 {found['slang'].mrr_at_10:.3f} "
                  f"nDCG@10 {found['slang'].ndcg_at_10:.3f}, plain MRR@10 {found['plain'].mrr_at_10:.3f}")
        return

    started = time.perf_counter()
    rated = simulated_ratings(searcher, [q for r in split.rounds[:args.rounds_rated] for q in r],
                              perfect=args.perfect)
    evidence = {} if args.min_evidence is None else {"min_evidence": args.min_evidence}
    vocabulary = learn_vocabulary(rated, LearningCorpus(corpus.document_texts()), **evidence)
    learnt_s = time.perf_counter() - started
    print(f"{len(rated)} rated wordings, {len(vocabulary.entries)} entries, learnt in {learnt_s:.1f} s")
    if args.show:
        for entry in vocabulary.entries:
            print("  ", entry.describe())
    for kind in held:
        before, after = measure(kind, LearnedProfile()), measure(kind, LearnedProfile(vocabulary=vocabulary))
        print(f"{kind}: MRR@10 {before.mrr_at_10:.3f} -> {after.mrr_at_10:.3f}   "
              f"nDCG@10 {before.ndcg_at_10:.3f} -> {after.ndcg_at_10:.3f}")


if __name__ == "__main__":
    main()
