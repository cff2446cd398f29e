"""Training options side by side, on the same ratings: loss and mining margin.

On a jargon-benchmark home after its rated rounds, this collects and mines what a cycle
would, then trains one model per option from the base model (60 steps, no time budget,
one mined negative, the product's other defaults) and measures each on the benchmark's
held-out slang and plain questions (questions never rated), in hybrid and dense mode:

- `mnrl`: MultipleNegativesRankingLoss, negatives mined with the default relative margin
  (0.05: a candidate scoring within 5 % of the positive is left out as a likely positive);
- `gist`: GISTEmbedLoss with the base model as guide (in-batch negatives the guide scores
  above the positive are dropped), same mined negatives;
- `margin 0` / `margin 0.1`: MNRL with negatives mined with no margin (anything below the
  positive's score) or a 10 % one.

    .venv/bin/python bench/training_options.py --home <copy of a benchmark home> \\
        --results bench/.cache/jargon/demo-s8-final.json [--options mnrl,gist,margin0,margin0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OPTIONS = {"mnrl": ("mnrl", None), "gist": ("gist", None), "margin0": ("mnrl", 0.0),
           "margin0.1": ("mnrl", 0.1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a benchmark home after its rounds")
    parser.add_argument("--results", type=Path, required=True, help="its jargon_bench.py JSON")
    parser.add_argument("--options", default=",".join(OPTIONS), help=f"some of {', '.join(OPTIONS)}")
    args = parser.parse_args()
    os.environ.update(ARGOT_HOME=str(args.home.resolve()), ARGOT_CLIP_MODEL="none", HF_HUB_OFFLINE="1")

    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import LabelledQuery, QuerySet
    from engine.evaluation.vectors import embed_texts
    from engine.learning.collect import collect, mine_examples
    from engine.learning.levers import ModelSide, measure_profile
    from engine.learning.report import CycleReport
    from engine.learning.training import TrainingConfig, fine_tune, in_memory_embedder
    from engine.search.profile import LearnedProfile
    from engine.search.vocabulary import Vocabulary

    services = Services(Settings.load())
    bench = services.workbench()
    config = replace(services.learning_config(), training=TrainingConfig(num_negatives=1, max_seconds=0))
    report = CycleReport("skipped", "", "bench")
    collected = collect(bench.feedback, bench.registry, bench.client, bench.embedder_for, config,
                        report, force=True, progress=print)
    corpus = collected.corpus.corpus
    held = json.loads(args.results.read_text())["corpora"][0]["held_out_questions"]
    sets = {form: QuerySet([LabelledQuery(q[form], frozenset(q["relevant"])) for q in held])
            for form in ("slang", "plain")}
    profiles = {"hybrid": LearnedProfile(),
                "dense": LearnedProfile(Vocabulary(), None, {"dense": 1.0, "bm25": 0.0})}

    def scores(side: ModelSide) -> dict[str, dict[str, float]]:
        return {form: {mode: round(measure_profile(corpus, queries, side, profile).scores.mrr_at_10, 3)
                       for mode, profile in profiles.items()} for form, queries in sets.items()}

    rows: dict[str, Any] = {"base": scores(ModelSide("active", collected.embedder, collected.corpus.vectors))}
    for name in args.options.split(","):
        loss, margin = OPTIONS[name]
        options = replace(config, training=replace(config.training, loss=loss),  # type: ignore[arg-type]
                          relative_margin=config.relative_margin if margin is None else margin)
        mined = mine_examples(collected, options, report, print)
        started = time.perf_counter()
        result = fine_tune(bench.base_model, mined.examples, options.training,
                           work_dir=Path("/tmp/options-work"))
        embedder = in_memory_embedder(result.model, name)
        side = ModelSide("candidate", embedder, embed_texts(embedder, corpus.texts))
        rows[name] = {**scores(side), "steps": result.steps, "seconds": round(time.perf_counter() - started),
                      "hard_negatives": mined.hard_negatives, "margin": options.relative_margin}
        print(name, json.dumps(rows[name]), flush=True)
    print(json.dumps({"command": " ".join(sys.argv), "held_out": len(held), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
