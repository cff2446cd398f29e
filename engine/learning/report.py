"""What a learning cycle decided and why: one typed report, one way to write it down.

Every cycle ends in a `CycleReport`, however it ended: promoted, rejected, skipped
before it began (`skipped`), or failed, even when the process running it died
(`failed`). `as_dict` is its one serialisation: `argot train --json` prints it, the
cycle log stores it, the child process hands it to its parent, and `from_dict` reads it
back. PRODUCT.md's keys come first (`decision`, `reason`, `active_version`,
`candidate_version`, `pairs`, `hard_negatives`, `metrics`), then the details.

Example:
    >>> report = CycleReport.failed("the learning process was killed", "base", "schedule")
    >>> report.as_dict()["decision"], report.as_dict()["candidate_version"]
    ('failed', None)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

Decision = Literal["promoted", "rejected", "skipped", "failed"]


def new_cycle_id() -> str:
    """`20260101-030000-1a2b3c`: sortable by start, unique across processes."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def empty_metrics() -> dict[str, dict[str, Any]]:
    return {"active": {}, "candidate": {}}


@dataclass
class CycleReport:
    """One cycle's decision, the data it learnt from, and what it measured.

    `active_version` and `candidate_version` are registry names ("base", "ft0003");
    `metrics` and `gold` hold the held-out and gold scores of both sides."""

    decision: Decision
    reason: str
    active_version: str
    candidate_version: str | None = None
    pairs: int = 0
    hard_negatives: int = 0
    metrics: dict[str, dict[str, Any]] = field(default_factory=empty_metrics)
    cycle_id: str = ""
    trigger: str = "manual"
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    gold: dict[str, dict[str, Any]] | None = None
    alpha: float | None = None
    alpha_scores: dict[str, float] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    negatives: dict[str, int] = field(default_factory=dict)
    pairs_by_source: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, Any] = field(default_factory=dict)
    new_ratings: int = 0
    cleaned: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    image: str | None = None
    """The before/after embedding map (a PNG), when one was drawn."""
    levers: dict[str, Any] = field(default_factory=dict)
    """What the cycle chose (model, vocabulary, memory, fusion) and what each contributed."""
    learnt: list[str] = field(default_factory=list)
    """The vocabulary the promoted version answers with, in words: "tollbooth → api gateway (7 questions)"."""

    @classmethod
    def skipped(cls, reason: str, active_version: str, trigger: str) -> CycleReport:
        """A cycle that stopped before it began: not due, or another one running."""
        return cls("skipped", reason, active_version, cycle_id=new_cycle_id(), trigger=trigger)

    @classmethod
    def failed(cls, reason: str, active_version: str, trigger: str) -> CycleReport:
        """A cycle that could not finish; the active model is unchanged."""
        return cls("failed", reason, active_version, trigger=trigger)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, PRODUCT.md's keys first."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["seconds"] = round(self.seconds, 2)
        data["phases"] = {name: round(seconds, 2) for name, seconds in self.phases.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CycleReport:
        """A report written by `as_dict` (keys it does not know are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


LEVER_NAMES = {"model": "fine-tuned model", "vocabulary": "learnt vocabulary",
               "memory": "feedback memory", "fusion": "fusion weights"}


def describe_levers(levers: dict[str, Any], learnt: Sequence[str], shown: int = 5) -> list[str]:
    """The report's lines about what was learnt and which lever moved the metrics.

    Example:
        >>> describe_levers(report.levers, report.learnt)
        ['Learnt: tollbooth → api gateway (7 questions); sparkles → feature flags (3 questions)',
         'What moved it (held-out nDCG@10): learnt vocabulary +0.121, fine-tuned model +0.034']
    """
    lines: list[str] = []
    if learnt:
        lines.append("Learnt: " + _listed(learnt, shown, " (`argot glossary`)"))
    moved = [(LEVER_NAMES.get(name, name), gain)
             for name, gain in sorted((levers.get("contributions") or {}).items(),
                                      key=lambda item: -item[1]) if gain > 0]
    if moved:
        lines.append("What moved it (held-out nDCG@10): "
                     + ", ".join(f"{name} {gain:+.3f}" for name, gain in moved))
    if levers.get("described"):
        lines.append(f"Answers with: {levers['described']}")
    if levers.get("not_kept"):
        lines.append("Learnt but not kept (no better on the questions it never saw; `argot glossary "
                     "reject TERM` stops a wrong one coming back): " + _listed(levers["not_kept"], shown))
    over = levers.get("passed_over") or {}
    if over:
        evidence = over["evidence"]
        lines.append(f"Passed over: {over['described']} ({evidence['gain']:+.3f}, but at least "
                     f"{evidence['low']:+.3f}: could be noise); today's model kept")
    return lines


def _listed(entries: Sequence[str], shown: int, where: str = "") -> str:
    """"a; b; and 3 more": the first `shown` entries and how many were left out."""
    more = f"; and {len(entries) - shown} more{where}" if len(entries) > shown else ""
    return "; ".join(entries[:shown]) + more
