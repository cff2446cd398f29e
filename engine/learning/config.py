"""What a learning cycle can be told.

The values come from the bot's settings (`bot.settings.Settings`, parsed and checked
once at start-up; `bot.services.Services.learning_config` builds this from them): a
setting left unset takes the default below.

Tip:
    Set `ARGOT_MIN_NEW_RATINGS` to about a day's ratings so the nightly job trains on
    something new; `argot train --force` runs a cycle regardless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.learning.training import TrainingConfig


@dataclass(frozen=True)
class LearningConfig:
    """How a cycle collects, trains, judges and reports.

    Args:
        min_new_ratings: new ratings since the last decided cycle before one is due
            (ARGOT_MIN_NEW_RATINGS).
        min_held_out: held-out questions needed to judge a candidate (ARGOT_MIN_HELD_OUT).
        gate_margin: held-out nDCG@10 gain required to promote (ARGOT_GATE_MARGIN).
        gold_queries: a query file the candidate must not fall back on (ARGOT_GOLD_QUERIES).
        gold_tolerance: how far below the active model on the gold file is still allowed.
        alphas: weights of the fine-tuned model blended with the base, tried in turn
            (ARGOT_COCKTAIL_ALPHAS; 1 = no blending, the default: on the jargon benchmark
            no blending was as good or better than the weights the cycle chose, and
            choosing cost a pool's embedding per weight; docs/benchmarks.md).
        pool_depth: documents per question re-embedded while choosing the blend.
        aux_share / aux_min: FAQ and glossary examples, at most `aux_share` per rated
            example and at least `aux_min`.
        range_min / range_max / relative_margin: where hard negatives are mined (ranks
            and how close to the positive they may score).
        training: how the candidate is trained (ARGOT_TRAIN_*).
        cross_fit: train the candidate in two halves, so that every rated question judges
            it (`engine.learning.crossfit`); off, one model and the held-out slice alone.
        picture: draw the before/after embedding map.
    """

    min_new_ratings: int = 10
    min_held_out: int = 20
    gate_margin: float = 0.01
    gold_queries: Path | None = None
    gold_tolerance: float = 0.0
    alphas: tuple[float, ...] = (1.0,)
    pool_depth: int = 20
    aux_share: float = 1.0
    aux_min: int = 32
    range_min: int = 0
    range_max: int = 30
    relative_margin: float = 0.05
    training: TrainingConfig = field(default_factory=TrainingConfig)
    cross_fit: bool = True
    picture: bool = True
