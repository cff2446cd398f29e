"""A jargon-benchmark home after its rated rounds, read as a learning cycle reads it.

For benchmarks that train models on the cycle's own ratings (`bench/model_judges.py`,
`bench/training_options.py`) and score them on the benchmark's held-out questions, slang
and plain, in hybrid and dense mode (MRR@10).

    rated = open_home(Path("bench/.cache/jargon/demo-run"), Path("bench/.cache/jargon/demo-s8-final.json"))
    rated.mrr(rated.side(model, "whole"), rated.sets["slang"])   # {"hybrid": 0.702, "dense": 0.695}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass
class RatedHome:
    bench: Any
    """`Services.workbench()` of the home."""
    config: Any
    """The product's learning config, with one mined negative and no time budget."""
    report: Any
    collected: Any
    """`engine.learning.collect.Collected`, as a forced cycle collects it."""
    sets: dict[str, Any]
    """"slang" and "plain": the benchmark's held-out questions (never rated) in each form."""

    @property
    def corpus(self) -> Any:
        return self.collected.corpus.corpus

    @property
    def active(self) -> Any:
        """The active model as the levers see it."""
        from engine.learning.sides import ModelSide

        return ModelSide("active", self.collected.embedder, self.collected.corpus.vectors)

    def side(self, model: Any, name: str) -> Any:
        """A fine-tuned model, with the whole corpus embedded by it."""
        from engine.evaluation.vectors import embed_texts
        from engine.learning.sides import ModelSide
        from engine.learning.training import in_memory_embedder

        embedder = in_memory_embedder(model, name)
        return ModelSide("candidate", embedder, embed_texts(embedder, self.corpus.texts))

    def mrr(self, side: Any, queries: Any) -> dict[str, float]:
        """MRR@10 of one model on `queries`, in hybrid and in dense mode, as served."""
        from engine.learning.sides import measure_profile
        from engine.search.profile import LearnedProfile
        from engine.search.vocabulary import Vocabulary

        profiles = {"hybrid": LearnedProfile(),
                    "dense": LearnedProfile(Vocabulary(), None, {"dense": 1.0, "bm25": 0.0})}
        return {mode: round(measure_profile(self.corpus, queries, side, profile).scores.mrr_at_10, 3)
                for mode, profile in profiles.items()}


def open_home(home: Path, results: Path) -> RatedHome:
    """The home's ratings collected (a forced cycle's collect phase) and the held-out
    questions of its `jargon_bench.py` JSON. Sets ARGOT_HOME for this process."""
    os.environ.update(ARGOT_HOME=str(home.resolve()), ARGOT_CLIP_MODEL="none", HF_HUB_OFFLINE="1")
    from bot.services import Services
    from bot.settings import Settings
    from engine.evaluation.querysets import LabelledQuery, QuerySet
    from engine.learning.collect import collect
    from engine.learning.report import CycleReport
    from engine.learning.training import TrainingConfig

    services = Services(Settings.load())
    bench = services.workbench()
    config = replace(services.learning_config(), training=TrainingConfig(num_negatives=1, max_seconds=0))
    report = CycleReport("skipped", "", "bench")
    collected = collect(bench.feedback, bench.registry, bench.client, bench.embedder_for, config,
                        report, force=True, progress=print)
    held = json.loads(results.read_text())["corpora"][0]["held_out_questions"]
    sets = {form: QuerySet([LabelledQuery(q[form], frozenset(q["relevant"])) for q in held])
            for form in ("slang", "plain")}
    return RatedHome(bench, config, report, collected, sets)
