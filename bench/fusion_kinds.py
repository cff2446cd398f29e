"""Which fusion weights suit each kind of question, for each model version of a benchmark home.

A question holding a word no document uses (`engine.search.lexical.Bm25.unfamiliar`: slang,
a codename) and one in the documents' own words are split, and each kind of the jargon
benchmark's held-out questions (slang and plain forms) is scored in hybrid mode at each
dense/BM25 weighting, through the serving stack (`engine.learning.sides`), with each
version's own vocabulary and memory. No training: the versions are the home's own.

With `--document-words`, it also scores questions made of each document's own words (its
title; 8 or 5 consecutive words; 5 or 3 of its content words), the guard a cycle could
build with no plain question at hand, to see whether they rank the weightings as the
benchmark's plain questions do. With `--blend 1,0.5`, each version is also blended with the
base model at those weights (`engine.learning.training.blend`) and the corpus re-embedded:
how much of a model's slang gain a blend keeps, against what it gives up elsewhere.

    .venv/bin/python bench/fusion_kinds.py --home bench/.cache/jargon/demo-run \\
        --results bench/.cache/jargon/demo-s13.json base ft0001 ft0002
    .venv/bin/python bench/fusion_kinds.py --home bench/.cache/jargon/debian-base \\
        --results bench/.cache/jargon/debian-s13.json --document-words base
    .venv/bin/python bench/fusion_kinds.py --home bench/.cache/jargon/debian-run \\
        --results bench/.cache/jargon/debian-s13.json --document-words --blend 1,0.75,0.5 ft0001
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WEIGHTS = ((1.0, 1.0), (1.0, 0.5), (1.0, 0.25), (1.0, 0.0), (0.5, 1.0), (0.0, 1.0))
WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
SAMPLED = 300


def row(label: str, part: Any, weights: tuple[tuple[float, float], ...] = WEIGHTS,
        metric: str = "mrr_at_10") -> str:
    """A table row: `part` (`engine.learning.sides.Answers`) scored at each dense / BM25 weighting."""
    from engine.learning.sides import measure

    scores = [f"{getattr(measure([part], [dense, bm25, 0.0]).scores, metric):.3f}" for dense, bm25 in weights]
    return f"| {label} | {len(part.keys)} | " + " | ".join(scores) + " |"


def document_questions(texts: dict[str, str], titles: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """(question, its document) made of a stable sample of documents' own words."""
    from engine.learning.trainingdata import stable_fraction
    from engine.search.tokens import stop_words

    stop = stop_words()
    sample = sorted(texts, key=stable_fraction)[:SAMPLED]

    def run_of(doc: str, n: int) -> str | None:
        words = WORD.findall(texts[doc])
        if len(words) < n + 4:
            return None
        start = random.Random(doc).randrange(0, len(words) - n)
        return " ".join(words[start:start + n])

    def content(doc: str, n: int) -> str | None:
        words = [w for w in WORD.findall(texts[doc]) if w.lower() not in stop]
        if len(words) < n + 2:
            return None
        return " ".join(words[i] for i in sorted(random.Random(doc).sample(range(len(words)), n)))

    made: dict[str, list[tuple[str, str]]] = {"title": [(titles[d], d) for d in sample if d in titles]}
    for label, make in (("8 consecutive words", lambda d: run_of(d, 8)),
                        ("5 consecutive words", lambda d: run_of(d, 5)),
                        ("5 content words", lambda d: content(d, 5)),
                        ("3 content words", lambda d: content(d, 3))):
        made[label] = [(text, d) for d in sample if (text := make(d))]
    return made


def blended(path: str, alpha: float, corpus: Any) -> Any:
    """The version's model blended with the base at `alpha`, the corpus embedded by it."""
    from engine.embedders import default_model_path, load_sentence_transformer
    from engine.evaluation.vectors import embed_texts
    from engine.learning.sides import ModelSide
    from engine.learning.training import base_state_dict, blend, in_memory_embedder

    model = blend(load_sentence_transformer(path), base_state_dict(default_model_path()), alpha)
    embedder = in_memory_embedder(model, f"blend-{alpha:g}")
    return ModelSide("active", embedder, embed_texts(embedder, corpus.texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a jargon-benchmark home")
    parser.add_argument("--results", type=Path, required=True, help="its jargon_bench.py JSON")
    parser.add_argument("--document-words", action="store_true",
                        help="also questions made of documents' words")
    parser.add_argument("--blend", help="blending weights with the base, e.g. 1,0.5")
    parser.add_argument("versions", nargs="+", help="registry names, e.g. base ft0001")
    args = parser.parse_args()
    os.environ.update(ARGOT_HOME=str(args.home.resolve()), ARGOT_CLIP_MODEL="none", HF_HUB_OFFLINE="1")
    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import LabelledQuery, QuerySet
    from engine.index import ChunkIndex
    from engine.learning.mining import ActiveCorpus
    from engine.learning.sides import Answers, ModelSide, question_lists
    from engine.search.lexical import Bm25
    from engine.search.profile import LearnedProfile
    from engine.search.vocabulary import Vocabulary

    bench = Services(Settings.load()).workbench()
    held = json.loads(args.results.read_text())["corpora"][0]["held_out_questions"]
    print("| version, questions | n | " + " | ".join(f"dense {d:g} / BM25 {b:g}" for d, b in WEIGHTS) + " |")
    print("|---|---:|" + "---:|" * len(WEIGHTS))
    sides = []
    for name in args.versions:
        version = bench.registry.get(name)
        embedder = bench.embedder_for(version)
        active = ActiveCorpus.from_index(ChunkIndex(bench.client, embedder.model_id))
        profile = LearnedProfile.load(Path(version.path) if version.path else None)
        if not args.blend:
            sides.append((name, active.corpus, ModelSide("active", embedder, active.vectors), profile))
            continue
        sides += [(f"{name} blended {alpha:g}", active.corpus, blended(version.path, alpha, active.corpus),
                   profile) for alpha in (float(a) for a in args.blend.split(","))]
    for name, corpus, side, profile in sides:
        bm25 = Bm25.over(corpus.chunks)

        def part(queries: QuerySet, profile: LearnedProfile = profile, side: ModelSide = side,
                 corpus: Any = corpus, bm25: Bm25 = bm25) -> Any:
            return Answers.of(queries, question_lists(corpus, queries, side, profile.vocabulary,
                                                    profile.memory, bm25), bm25)

        for form in ("plain", "slang"):
            for unfamiliar in (False, True):
                kind = [LabelledQuery(q[form], frozenset(q["relevant"])) for q in held
                        if bm25.unfamiliar(q[form]) == unfamiliar]
                if kind:
                    label = f"{name}, {form}, {'unfamiliar' if unfamiliar else 'familiar'} words"
                    print(row(label, part(QuerySet(kind))), flush=True)
        if args.document_words:
            titles = {c.doc_id: c.title for c in corpus.chunks if c.position == 0 and c.title}
            for label, pairs in document_questions(corpus.document_texts(), titles).items():
                if pairs:
                    queries = QuerySet([LabelledQuery(text, frozenset([doc])) for text, doc in pairs])
                    plain = LearnedProfile(Vocabulary())
                    print(row(f"{name}, documents' words: {label}", part(queries, plain)), flush=True)


if __name__ == "__main__":
    main()
