"""Training options side by side, on the same ratings: loss, mining margin, frozen layers.

On a jargon-benchmark home after its rated rounds (with the base model active: `argot
models rollback base` on a copy), this collects and mines what a cycle would, then trains
one model per option from the base model (the product's steps and epochs, no time budget,
one mined negative, the product's other defaults) and measures each on the benchmark's
held-out slang and plain questions (questions never rated), in hybrid and dense mode:

- `mnrl`: MultipleNegativesRankingLoss, every layer trained, negatives mined with the
  default relative margin (0.05: a candidate scoring within 5 % of the positive is left
  out as a likely positive; every option but the `freeze` ones trains every layer);
- `gist`: GISTEmbedLoss with the base model as guide (in-batch negatives the guide scores
  above the positive are dropped), same mined negatives;
- `margin 0` / `margin 0.1`: MNRL with negatives mined with no margin (anything below the
  positive's score) or a 10 % one;
- `freeze2` / `freeze3` / `freeze4`: MNRL with the word embeddings and the lowest 2, 3 or
  4 of the model's transformer layers kept as the base has them (less to forget, and a
  cheaper backward pass);
- `freeze4-lr6e-5` / `freeze4-lr1e-4`: the lowest 4 layers frozen, the two left trained
  at twice or three times the default learning rate (3e-5);
- `freeze4-len96` / `freeze4-len64`: the lowest 4 layers frozen, every text cut to 96 or
  64 tokens while training (the default is 128; answers still read whole chunks), and
  `freeze4-len64-130` with 130 steps at least, about the time 90 steps of 128 take;
- `product`: the product's training as it is (two frozen layers, 60 steps at least), and
  `steps120` / `steps200`: the same with 120 or 200 steps at least.

`--as-cycle` trains each option as the cycle does: in its two cross-fitted halves (each
half's rated questions left out of the other's model, half the steps each), their
lessons added (`engine.learning.crossfit.train_combined`, as the cycle trains).

    .venv/bin/python bench/training_options.py --home <copy of a benchmark home> \\
        --results bench/.cache/jargon/demo-s8-final.json [--options mnrl,gist,freeze2,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OPTIONS: dict[str, dict[str, Any]] = {
    # name → what it changes from the product's training: `TrainingConfig` fields, and
    # "margin" (the mining margin)
    "mnrl": {"frozen_layers": 0}, "gist": {"loss": "gist", "frozen_layers": 0},
    "margin0": {"frozen_layers": 0, "margin": 0.0}, "margin0.1": {"frozen_layers": 0, "margin": 0.1},
    "freeze2": {"frozen_layers": 2}, "freeze3": {"frozen_layers": 3}, "freeze4": {"frozen_layers": 4},
    "freeze4-lr6e-5": {"frozen_layers": 4, "learning_rate": 6e-5},
    "freeze4-lr1e-4": {"frozen_layers": 4, "learning_rate": 1e-4},
    "freeze4-len96": {"frozen_layers": 4, "max_seq_length": 96},
    "freeze4-len64": {"frozen_layers": 4, "max_seq_length": 64},
    "freeze4-len64-130": {"frozen_layers": 4, "max_seq_length": 64, "min_steps": 130},
    "product": {}, "steps120": {"min_steps": 120}, "steps200": {"min_steps": 200}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a benchmark home after its rounds")
    parser.add_argument("--results", type=Path, required=True, help="its jargon_bench.py JSON")
    parser.add_argument("--options", default=",".join(OPTIONS), help=f"some of {', '.join(OPTIONS)}")
    parser.add_argument("--as-cycle", action="store_true",
                        help="train in the cycle's two cross-fitted halves and add their lessons")
    args = parser.parse_args()

    from bench.rated_home import open_home
    from engine.learning.collect import mine_examples
    from engine.learning.crossfit import train_combined
    from engine.learning.training import base_state_dict, fine_tune

    rated = open_home(args.home, args.results)
    config = rated.config
    base_state = base_state_dict(rated.bench.base_model) if args.as_cycle else {}

    def scores(side: Any) -> dict[str, dict[str, float]]:
        return {form: rated.mrr(side, queries) for form, queries in rated.sets.items()}

    rows: dict[str, Any] = {"base": scores(rated.active)}
    for name in args.options.split(","):
        changes = dict(OPTIONS[name])
        margin = changes.pop("margin", config.relative_margin)
        options = replace(config, training=replace(config.training, **changes), relative_margin=margin)
        mined = mine_examples(rated.collected, options, rated.report, print)
        started = time.perf_counter()
        work = Path("/tmp/options-work")
        if args.as_cycle and rated.collected.halves:
            halves, model = train_combined(rated.bench.base_model, mined.examples, rated.collected.halves,
                                           options.training, base_state, work_dir=work)
            steps = sum(h.result.steps for h in halves)
        else:
            result = fine_tune(rated.bench.base_model, mined.examples, options.training, work_dir=work)
            model, steps = result.model, result.steps
        rows[name] = {**scores(rated.side(model, name)), "steps": steps,
                      "seconds": round(time.perf_counter() - started),
                      "hard_negatives": mined.hard_negatives, "margin": options.relative_margin}
        print(name, json.dumps(rows[name]), flush=True)
    out = {"command": " ".join(sys.argv), "held_out": len(rated.sets["slang"]), "rows": rows}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
