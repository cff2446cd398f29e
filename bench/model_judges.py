"""How the cycle's judges read a fine-tuned model, against the benchmark's held-out questions.

On a jargon-benchmark home after its rated rounds, this trains what a cycle trains from
those ratings (one mined negative, 60 steps, no time budget) three ways: one model on
every rated question, and the two cross-fitted halves (`engine.learning.crossfit`) with
the base plus both halves' lessons (what the cycle serves). Each is measured:
- on the benchmark's held-out slang and plain questions (55 on the demo: questions never
  rated, whose slang terms are each in two rated questions or more);
- on the cycle's own held-out slice (rated questions held out by the product's split);
- for a half, on the rated questions it never saw (what cross-fitting judges it on).

`--salt` picks the split into halves: "product" (the cycle's: a page's questions dealt
to both halves) or a salt for a split by hash alone ("half", "fold"), to see how much
the cross-fitted reading depends on which questions fall together.

    .venv/bin/python bench/model_judges.py --home bench/.cache/jargon/demo-run \\
        --results bench/.cache/jargon/demo-s9.json [--salt product|half|fold]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a benchmark home after its rounds")
    parser.add_argument("--results", type=Path, required=True, help="its jargon_bench.py JSON")
    parser.add_argument("--alphas", default="1.0",
                        help="blending weights with the base model to measure the halves and "
                             "their average at (comma-separated; the cycle tries 1.0,0.75,0.5)")
    parser.add_argument("--no-whole", action="store_true", help="skip the one model on every question")
    parser.add_argument("--salt", default="product",
                        help="the split into halves: product (a page's questions dealt to both "
                             "halves, as the cycle splits) or a hash salt (half, fold: by hash alone)")
    args = parser.parse_args()

    from bench.rated_home import open_home
    from engine.evaluation.querysets import LabelledQuery, QuerySet, rewording_groups
    from engine.learning import crossfit
    from engine.learning.collect import mine_examples
    from engine.learning.training import base_state_dict, blend, fine_tune

    rated = open_home(args.home, args.results)
    bench, config, collected, corpus = rated.bench, rated.config, rated.collected, rated.corpus
    mined = mine_examples(collected, config, rated.report, print)
    sets = {**rated.sets, "cycle held-out": collected.judging}
    side, scores, active = rated.side, rated.mrr, rated.active

    rows: dict[str, dict[str, Any]] = {"active (base)": {s: scores(active, q) for s, q in sets.items()}}
    started = time.perf_counter()
    if not args.no_whole:
        whole = fine_tune(bench.base_model, mined.examples, config.training,
                          work_dir=Path("/tmp/judges-work"))
        whole_side = side(whole.model, "whole")
        rows["one model, every rated question"] = {s: scores(whole_side, q) for s, q in sets.items()}
        rows["one model, every rated question"]["steps"] = whole.steps
    if args.salt == "product":
        halves = collected.halves  # the cycle's own split, decided when it collects
    else:
        rated = {q.key: q.positives for q in collected.training_questions
                 if q.source == "rating" and q.positives}
        groups = rewording_groups(rated)
        halves = {key: crossfit.fold_of(groups[key], crossfit.HALVES, args.salt) for key in rated}
    trained = crossfit.train_halves(bench.base_model, mined.examples, halves, config.training,
                                    work_dir=Path("/tmp/judges-work"))
    known = set(corpus.doc_ids)
    base_state = base_state_dict(bench.base_model)
    alphas = [float(a) for a in args.alphas.split(",")]
    merged = crossfit.combine([half.result.model for half in trained], base_state)
    for alpha in alphas:
        at = f" at alpha {alpha}" if alphas != [1.0] else ""
        for n, half in enumerate(trained):
            unseen = QuerySet([LabelledQuery(q.text, frozenset(set(q.positives) & known))
                               for q in collected.training_questions
                               if q.key in half.unseen and set(q.positives) & known])
            half_side = side(blend(half.result.model, base_state, alpha), f"half{n}")
            row = {s: scores(half_side, q) for s, q in sets.items()}
            row[f"its {len(unseen)} unseen rated questions"] = {"active": scores(active, unseen),
                                                                 "half": scores(half_side, unseen)}
            row["steps"] = half.result.steps
            rows[f"half {n + 1}{at}"] = row
        rows[f"the halves' lessons added (what the cycle serves){at}"] = {
            s: scores(side(blend(merged, base_state, alpha), "combined"), q) for s, q in sets.items()}
    out = {"command": " ".join(sys.argv), "salt": args.salt, "seconds": round(time.perf_counter() - started),
           "held_out": len(rated.sets["slang"]), "cycle_held_out": len(collected.judging), "rows": rows}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
