"""Leases: one holder at a time across every process that shares the feedback database.

A lease is a row (name, holder, expires_at). `acquire` takes it when it is free,
expired, or already ours (renewing it); `release` gives it back; `holder` says who has
it. A holder names where it runs (`this_process()`: host, pid, nonce), so a lease left
by a process that died on this machine is broken at once (`acquire(..., take_dead=True)`)
instead of blocking everyone until it expires; one held on another machine can only
expire.

Example:
    >>> leases = Leases(store)
    >>> leases.acquire(LEARNING_LEASE, this_process(), seconds=900)
    (True, 'host:4242:ab12cd')
"""

from __future__ import annotations

import os
import socket
import time

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.database import Database
from engine.schema import leases

LEARNING_LEASE = "learning-cycle"


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


class Leases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, name: str, holder: str, seconds: float, *, take_dead: bool = True
                ) -> tuple[bool, str]:
        """Take or renew the lease for `seconds`; a lease whose holder died on this
        machine is broken first when `take_dead`. Returns (taken, who holds it)."""
        if self._take(name, holder, seconds):
            return True, holder
        current = self.holder(name)
        if take_dead and current and holder_is_dead(current[0]) and self.break_dead(name, current[0]):
            if self._take(name, holder, seconds):
                return True, holder
        current = self.holder(name)
        return False, current[0] if current else "another process"

    def release(self, name: str, holder: str) -> None:
        """Give the lease back if `holder` still has it."""
        self.db.run(delete(leases).where(leases.c.name == name, leases.c.holder == holder))

    def holder(self, name: str = LEARNING_LEASE) -> tuple[str, float] | None:
        """(holder, expires_at) of the lease, expired or not; None when nobody has it."""
        with self.db.connect() as conn:
            row = conn.execute(select(leases.c.holder, leases.c.expires_at)
                               .where(leases.c.name == name)).first()
        return (row.holder, float(row.expires_at)) if row else None

    def break_dead(self, name: str, holder: str) -> bool:
        """Remove the lease if `holder` still has it (when that process is known dead)."""
        return bool(self.db.run(delete(leases).where(leases.c.name == name,
                                                     leases.c.holder == holder)).rowcount)

    def _take(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        with self.db.begin() as conn:
            taken = conn.execute(update(leases).where(
                leases.c.name == name,
                (leases.c.expires_at < now) | (leases.c.holder == holder),
            ).values(holder=holder, expires_at=now + seconds))
            if taken.rowcount:
                return True
            try:
                with conn.begin_nested():
                    conn.execute(insert(leases).values(name=name, holder=holder,
                                                       expires_at=now + seconds))
                return True
            except IntegrityError:
                return False
