"""The learning cycles' own record, in the feedback database: when each cycle ran, how
far it got, what it decided, and its whole report.

"New ratings since the last cycle" counts from the start of the last cycle that got
as far as a decision (promoted or rejected); skipped and interrupted cycles do not
reset it. A cycle that never finished (killed) is marked "interrupted" by the next one,
with the phase it died in.

Every query goes through the store's guard: a lost database is one
`FeedbackUnavailable` line, as for votes. The learning lease is in engine/leases.py.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from engine.feedback import FeedbackStore
from engine.schema import learning_cycles as cycles

DECIDED = ("promoted", "rejected")


@dataclass(frozen=True)
class CycleRecord:
    cycle_id: str
    trigger: str
    phase: str
    started_at: float
    finished_at: float | None
    decision: str | None
    reason: str | None
    report: dict[str, Any] | None


class CycleLog:
    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    # -- cycles ------------------------------------------------------------------------

    def start(self, cycle_id: str, trigger: str, holder: str = "") -> None:
        with self.store.begin() as conn:
            conn.execute(insert(cycles).values(cycle_id=cycle_id, trigger=trigger,
                                                   holder=holder, phase="collect",
                                                   started_at=time.time()))

    def enter(self, cycle_id: str, phase: str) -> None:
        with self.store.begin() as conn:
            conn.execute(update(cycles).where(cycles.c.cycle_id == cycle_id).values(phase=phase))

    def finish(self, cycle_id: str, report: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            conn.execute(update(cycles).where(cycles.c.cycle_id == cycle_id).values(
                finished_at=time.time(), decision=report.get("decision"),
                reason=report.get("reason"), report=json.dumps(report, default=str)))

    def mark_interrupted(self, but: str) -> list[CycleRecord]:
        """Cycles other than `but` that never finished: they were killed."""
        with self.store.begin() as conn:
            rows = conn.execute(select(cycles).where(cycles.c.finished_at.is_(None),
                                                     cycles.c.cycle_id != but)).all()
            for row in rows:
                conn.execute(update(cycles).where(cycles.c.cycle_id == row.cycle_id).values(
                    finished_at=time.time(), decision="interrupted",
                    reason=f"the cycle stopped during {row.phase} (killed or crashed)"))
        return [self._record(row) for row in rows]

    def last_decided_start(self) -> float:
        """When the last cycle that promoted or rejected started; 0 when none has."""
        with self.store.connect() as conn:
            value = conn.execute(select(cycles.c.started_at)
                                 .where(cycles.c.decision.in_(DECIDED))
                                 .order_by(cycles.c.started_at.desc()).limit(1)).scalar()
        return float(value or 0.0)

    def recent(self, limit: int = 10) -> list[CycleRecord]:
        with self.store.connect() as conn:
            rows = conn.execute(select(cycles).order_by(cycles.c.started_at.desc())
                                .limit(limit)).all()
        return [self._record(row) for row in rows]

    @staticmethod
    def _record(row: Any) -> CycleRecord:
        return CycleRecord(row.cycle_id, row.trigger, row.phase, row.started_at, row.finished_at,
                           row.decision, row.reason, json.loads(row.report) if row.report else None)
