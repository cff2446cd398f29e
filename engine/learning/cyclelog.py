"""The learning cycles' own record, in the feedback database: when each cycle ran, how
far it got, what it decided, and its whole report.

"New ratings since the last cycle" counts from the start of the last cycle that got
as far as a decision (promoted or rejected); skipped and interrupted cycles do not
reset it. A cycle that never finished (killed) is marked "interrupted" by the next one,
with the phase it died in.

Also here: reading and breaking the learning lease, so that a lease left by a process
that was killed on this machine does not block the next cycle until it expires.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, select, update
from sqlalchemy import insert as sql_insert

from engine.feedback import FeedbackStore, leases

metadata = MetaData()

cycles = Table(
    "learning_cycles", metadata,
    Column("cycle_id", String(64), primary_key=True),
    Column("trigger", String(32), nullable=False, default="manual"),
    Column("holder", String(160), nullable=False, default=""),
    Column("phase", String(32), nullable=False, default="collect"),
    Column("started_at", Float, nullable=False, index=True),
    Column("finished_at", Float, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("reason", Text, nullable=True),
    Column("report", Text, nullable=True),
)

LEARNING_LEASE = "learning-cycle"
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


def create_tables(store: FeedbackStore) -> None:
    """Create the table once; another process creating it at the same moment is fine."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        metadata.create_all(store.engine)
    except SQLAlchemyError:
        if not inspect(store.engine).has_table(cycles.name):
            raise


def this_process() -> str:
    """A lease holder name that says where the holder runs: host, pid, and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def holder_is_dead(holder: str) -> bool:
    """True only when the holder ran on this machine and its process is gone."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class CycleLog:
    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        create_tables(store)

    # -- cycles ------------------------------------------------------------------------

    def start(self, cycle_id: str, trigger: str, holder: str = "") -> None:
        with self.store.engine.begin() as conn:
            conn.execute(sql_insert(cycles).values(cycle_id=cycle_id, trigger=trigger,
                                                   holder=holder, phase="collect",
                                                   started_at=time.time()))

    def enter(self, cycle_id: str, phase: str) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(cycles).where(cycles.c.cycle_id == cycle_id).values(phase=phase))

    def finish(self, cycle_id: str, report: dict[str, Any]) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(cycles).where(cycles.c.cycle_id == cycle_id).values(
                finished_at=time.time(), decision=report.get("decision"),
                reason=report.get("reason"), report=json.dumps(report, default=str)))

    def mark_interrupted(self, but: str) -> list[CycleRecord]:
        """Cycles other than `but` that never finished: they were killed."""
        with self.store.engine.begin() as conn:
            rows = conn.execute(select(cycles).where(cycles.c.finished_at.is_(None),
                                                     cycles.c.cycle_id != but)).all()
            for row in rows:
                conn.execute(update(cycles).where(cycles.c.cycle_id == row.cycle_id).values(
                    finished_at=time.time(), decision="interrupted",
                    reason=f"the cycle stopped during {row.phase} (killed or crashed)"))
        return [self._record(row) for row in rows]

    def last_decided_start(self) -> float:
        """When the last cycle that promoted or rejected started; 0 when none has."""
        with self.store.engine.connect() as conn:
            value = conn.execute(select(cycles.c.started_at)
                                 .where(cycles.c.decision.in_(DECIDED))
                                 .order_by(cycles.c.started_at.desc()).limit(1)).scalar()
        return float(value or 0.0)

    def recent(self, limit: int = 10) -> list[CycleRecord]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(cycles).order_by(cycles.c.started_at.desc())
                                .limit(limit)).all()
        return [self._record(row) for row in rows]

    @staticmethod
    def _record(row: Any) -> CycleRecord:
        return CycleRecord(row.cycle_id, row.trigger, row.phase, row.started_at, row.finished_at,
                           row.decision, row.reason, json.loads(row.report) if row.report else None)

    # -- the lease -----------------------------------------------------------------------

    def lease_holder(self, name: str = LEARNING_LEASE) -> tuple[str, float] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(leases.c.holder, leases.c.expires_at)
                               .where(leases.c.name == name)).first()
        return (row.holder, float(row.expires_at)) if row else None

    def break_lease(self, name: str, holder: str) -> bool:
        """Remove the lease if `holder` still has it (used when that process is dead)."""
        with self.store.engine.begin() as conn:
            removed = conn.execute(delete(leases).where(leases.c.name == name,
                                                        leases.c.holder == holder))
        return bool(removed.rowcount)

    def acquire(self, holder: str, seconds: float, name: str = LEARNING_LEASE) -> tuple[bool, str]:
        """Take the lease; a lease left by a dead process on this machine is taken over.
        Returns (taken, who holds it otherwise)."""
        if self.store.acquire_lease(name, holder, seconds):
            return True, holder
        current = self.lease_holder(name)
        if current and holder_is_dead(current[0]) and self.break_lease(name, current[0]):
            if self.store.acquire_lease(name, holder, seconds):
                return True, holder
        current = self.lease_holder(name)
        return False, current[0] if current else "another process"
