"""The learning schedule: an APScheduler cron job, kept in the feedback database.

`build_scheduler(services)` returns a `BackgroundScheduler` whose one job runs a
learning cycle at `ARGOT_TRAIN_SCHEDULE` (cron, nightly at 03:00 by default). The job
lives in the same database as the feedback (as JSON, never pickled: jobs/jobstore.py),
so a restart keeps its next run time; runs missed while the bot was down are coalesced into one, run when
the bot comes back (within `MISFIRE_GRACE_SECONDS`). `max_instances=1` keeps one run
per process; the database lease in `jobs.learning.run_cycle` keeps one per deployment,
however many bot processes fire at the same minute.

The job itself does nothing heavy: it checks whether enough ratings are new and starts
the cycle in a child process (`jobs.learning`), so the bot keeps answering.

Example:
    >>> scheduler = start_jobs(services)        # `argot serve` does this
    >>> scheduler.get_job(JOB_ID).next_run_time
    datetime.datetime(2025, 1, 2, 3, 0, tzinfo=...)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler

if TYPE_CHECKING:
    from bot.services import Services
    from engine.learning.report import CycleReport

log = logging.getLogger(__name__)

JOB_ID = "argot-learning-cycle"
JOBS_TABLE = "argot_scheduled_jobs"
MISFIRE_GRACE_SECONDS = 12 * 3600

_contexts: dict[str, tuple[Any, Any]] = {}
"""ARGOT_HOME → (services, Slack client) of this process: the stored job names only the
home, never a token, and runs with whatever this process built for it."""


class LearningScheduler(BackgroundScheduler):
    """A BackgroundScheduler that makes sure the learning job exists when it starts,
    keeping a stored job (and its missed runs) when its schedule has not changed."""

    def __init__(self, services: Services, **options: Any) -> None:
        super().__init__(**options)
        self.services = services

    def start(self, paused: bool = False) -> None:  # type: ignore[override]
        super().start(paused=True)
        ensure_job(self, self.services)
        from jobs.channels import ensure_surface_jobs

        ensure_surface_jobs(self, self.services)
        if not paused:
            self.resume()


def build_scheduler(services: Services, client: Any = None) -> LearningScheduler:
    """The scheduler for this process; call `start()` on it (and `shutdown()` at exit).

    Args:
        services: the bot's services (settings, feedback store, models).
        client: the Slack `WebClient` the report is posted with; built from the
            settings when None.
    """
    from jobs.jobstore import ScheduleStore

    settings = services.settings
    settings.home.mkdir(parents=True, exist_ok=True)
    _contexts[str(settings.home)] = (services, client)
    return LearningScheduler(
        services,
        jobstores={"default": ScheduleStore(url=settings.db_url, tablename=JOBS_TABLE)},
        executors={"default": {"type": "threadpool", "max_workers": 1}},
        job_defaults={"coalesce": True, "max_instances": 1,
                      "misfire_grace_time": MISFIRE_GRACE_SECONDS},
    )


def start_jobs(services: Services, client: Any = None) -> LearningScheduler:
    """Build and start the scheduler: what `argot serve` runs unless `--no-jobs`."""
    scheduler = build_scheduler(services, client)
    scheduler.start()
    job = scheduler.get_job(JOB_ID)
    log.info("learning cycle scheduled (%s), next run %s", services.settings.train_schedule,
             job.next_run_time if job else "?")
    return scheduler


def ensure_job(scheduler: BackgroundScheduler, services: Services) -> None:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(services.settings.train_schedule)
    key = str(services.settings.home)
    job = scheduler.get_job(JOB_ID)
    if job is None:
        scheduler.add_job(scheduled_cycle, trigger, args=[key], id=JOB_ID,
                          name="learning cycle", replace_existing=True)
    elif not same_schedule(job.trigger, trigger) or list(job.args) != [key]:
        job.modify(args=[key])
        scheduler.reschedule_job(JOB_ID, trigger=trigger)


def same_schedule(stored: Any, wanted: Any) -> bool:
    """Whether a stored cron trigger fires when `wanted` does. (A trigger read back from
    the job store prints every field, a new one only those set, so their str() differ
    and comparing those rescheduled the job at every start, dropping missed runs.)"""
    fields = getattr(stored, "fields", None)
    return fields is not None and [str(f) for f in fields] == [str(f) for f in wanted.fields] \
        and str(stored.timezone) == str(wanted.timezone)


def scheduled_cycle(home: str) -> CycleReport | None:
    """The job: one learning cycle, unattended (skipped when too few ratings are new)."""
    from jobs.learning import run_cycle

    context = _contexts.get(home)
    if context is None:
        log.warning("learning job for %s fired in a process that does not serve it", home)
        return None
    services, client = context
    try:
        report = run_cycle(services, trigger="schedule", client=client)
    except Exception:  # noqa: BLE001 - the scheduler would only log it less clearly
        log.exception("scheduled learning cycle failed")
        return None
    log.info("scheduled learning cycle: %s (%s)", report.decision, report.reason)
    return report
