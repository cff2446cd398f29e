"""A job store that keeps only the schedule in the database, as JSON: nothing unpickled.

APScheduler's own `SQLAlchemyJobStore` pickles each job and unpickles it on every read,
so anyone who can write to the database could run code in the bot. `ScheduleStore`
keeps the same table and behaviour (a restart keeps each job's next run time; several
processes share it) but writes each job as plain JSON: its id, name, options, next run
time, the function's `module:name` reference and its string arguments, and its trigger
(cron fields or an interval). On reading, the function must be one of Argot's own
(`ALLOWED_MODULES`), the arguments strings, the trigger one of those two kinds;
anything else (an old pickled row, a tampered one) is logged and dropped, and the
scheduler adds the job afresh at start-up.

The database is still trusted for what it holds (ratings, questions, cycle reports);
this only keeps it from being a way to run code.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy.exc import IntegrityError

ALLOWED_MODULES = ("jobs.",)
CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")


class UnsafeJob(ValueError):
    """A stored job that is not one Argot would have written."""


def trigger_state(trigger: Any) -> dict[str, Any]:
    if isinstance(trigger, CronTrigger):
        return {"cron": {field.name: str(field) for field in trigger.fields
                         if field.name in CRON_FIELDS},
                "timezone": str(trigger.timezone)}
    if isinstance(trigger, IntervalTrigger):
        return {"interval": trigger.interval.total_seconds(),
                "start": trigger.start_date.isoformat() if trigger.start_date else None,
                "timezone": str(trigger.timezone)}
    raise UnsafeJob(f"only cron and interval schedules are stored, not {type(trigger).__name__}")


def trigger_from(state: dict[str, Any]) -> Any:
    if "cron" in state:
        fields = {k: str(v) for k, v in dict(state["cron"]).items() if k in CRON_FIELDS}
        return CronTrigger(**fields, timezone=str(state["timezone"]))
    if "interval" in state:
        start = dt.datetime.fromisoformat(state["start"]) if state.get("start") else None
        return IntervalTrigger(seconds=float(state["interval"]), start_date=start,
                               timezone=str(state["timezone"]))
    raise UnsafeJob("the stored schedule is neither cron nor interval")


def encode(job: Job) -> bytes:
    state = job.__getstate__()
    if not str(state["func"]).startswith(ALLOWED_MODULES):
        raise UnsafeJob(f"{state['func']} is not one of Argot's jobs")
    if state["kwargs"] or not all(isinstance(a, str) for a in state["args"]):
        raise UnsafeJob("a stored job takes string arguments only")
    next_run = state["next_run_time"]
    return json.dumps({
        "id": state["id"], "name": state["name"], "func": state["func"],
        "args": list(state["args"]), "executor": state["executor"],
        "misfire_grace_time": state["misfire_grace_time"], "coalesce": state["coalesce"],
        "max_instances": state["max_instances"],
        "next_run_time": next_run.isoformat() if next_run else None,
        "trigger": trigger_state(state["trigger"]),
    }).encode()


def decode(data: bytes) -> dict[str, Any]:
    stored = json.loads(data.decode("utf-8"))  # a pickle is not JSON: refused here
    func = str(stored["func"])
    if not func.startswith(ALLOWED_MODULES) or ":" not in func:
        raise UnsafeJob(f"{func} is not one of Argot's jobs")
    args = stored["args"]
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UnsafeJob("a stored job takes string arguments only")
    next_run = stored["next_run_time"]
    return {"version": 1, "id": str(stored["id"]), "func": func,
            "trigger": trigger_from(stored["trigger"]), "executor": str(stored["executor"]),
            "args": tuple(args), "kwargs": {}, "name": str(stored["name"]),
            "misfire_grace_time": stored["misfire_grace_time"],
            "coalesce": bool(stored["coalesce"]), "max_instances": int(stored["max_instances"]),
            "next_run_time": dt.datetime.fromisoformat(next_run) if next_run else None}


class ScheduleStore(SQLAlchemyJobStore):
    """`SQLAlchemyJobStore` with JSON instead of pickle (see the module docstring)."""

    def add_job(self, job: Job) -> None:
        row = {"id": job.id, "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
               "job_state": encode(job)}
        with self.engine.begin() as connection:
            try:
                connection.execute(self.jobs_t.insert().values(**row))
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        values = {"next_run_time": datetime_to_utc_timestamp(job.next_run_time),
                  "job_state": encode(job)}
        with self.engine.begin() as connection:
            result = connection.execute(self.jobs_t.update().values(**values)
                                        .where(self.jobs_t.c.id == job.id))
            if result.rowcount == 0:
                raise JobLookupError(job.id)

    def lookup_job(self, job_id: str) -> Job | None:
        try:
            return super().lookup_job(job_id)
        except UnsafeJob as exc:
            self._logger.warning("stored job %s dropped: %s", job_id, exc)
            self.remove_job(job_id)
            return None

    def _reconstitute_job(self, job_state: bytes) -> Job:
        try:
            state = decode(job_state)
        except UnsafeJob:
            raise
        except Exception as exc:  # noqa: BLE001 - not JSON, missing keys: not ours
            raise UnsafeJob(f"not a schedule Argot wrote ({exc.__class__.__name__})") from None
        state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job
