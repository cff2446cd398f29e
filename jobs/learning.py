"""Running a learning cycle: one at a time, in a process of its own, reported to Slack.

`run_cycle` takes the database lease (so that several bot processes, or a scheduled
job and `argot train`, never run two cycles at once), renews it while the cycle runs,
and runs the cycle in a child process with its own small thread budget that only gets
CPU time the answering process leaves idle, so the process answering Slack keeps
answering. A lease left behind by a process that was killed on this machine is taken
over at once; one held elsewhere expires after `LEASE_SECONDS` without renewal.

Example:
    >>> report = run_cycle(services, trigger="schedule")
    >>> report.decision
    'skipped'
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.learning.cyclelog import CycleLog
from engine.learning.report import CycleReport
from engine.leases import LEARNING_LEASE, Leases, this_process

if TYPE_CHECKING:
    from bot.services import Services
    from bot.settings import Settings

log = logging.getLogger(__name__)

LEASE_SECONDS = 900.0
RENEW_EVERY = 60.0


def run_cycle(services: Services, *, trigger: str = "manual", force: bool = False,
              in_child: bool = True, client: Any = None, post: bool = True,
              progress: Callable[[str], None] | None = None) -> CycleReport:
    """One cycle under the lease; returns its report (`as_dict()` is PRODUCT.md's JSON).

    Args:
        services: the process's services (settings, feedback store...).
        trigger: "schedule", "manual" or "playground", recorded with the cycle.
        force: run even if fewer than ARGOT_MIN_NEW_RATINGS ratings are new.
        in_child: run in a child process (the bot); False runs here (the CLI).
        client: a Slack `WebClient` for the report; built from the settings when None.
        post: post promoted, rejected and failed cycles to ARGOT_OPS_CHANNEL.
        progress: hears the phases and training steps as they go (a module-level function
            when `in_child`: it travels to the child process).
    """
    from engine.learning.collect import check_due
    from jobs.report import post_report, slack_client

    cycles = CycleLog(services.feedback)
    leases = Leases(services.feedback)
    holder = this_process()
    taken, other = leases.acquire(LEARNING_LEASE, holder, LEASE_SECONDS)
    if not taken:
        return skipped(cycles, services, f"another learning cycle is running ({other})", trigger)
    renewal = LeaseRenewal(services, holder)
    renewal.start()
    try:
        _, not_due = check_due(services.feedback, services.learning_config())
        if not_due and not force:  # decided here: no child process for nothing
            report = skipped(cycles, services, not_due, trigger, holder)
        else:
            report = execute(services, trigger=trigger, force=force, holder=holder,
                             in_child=in_child, progress=progress)
    finally:
        renewal.stop()
        leases.release(LEARNING_LEASE, holder)
    if post and report.decision != "skipped":
        post_report(report, services.settings.ops_channel, client or slack_client(services.settings))
    return report


def skipped(cycles: CycleLog, services: Services, reason: str, trigger: str,
            holder: str = "") -> CycleReport:
    """Record a cycle that stopped before it began (not due, or another one running)."""
    report = CycleReport.skipped(reason, services.active_version().name, trigger)
    cycles.start(report.cycle_id, trigger, holder)
    cycles.finish(report.cycle_id, report.as_dict())
    return report


def execute(services: Services, *, trigger: str, force: bool, holder: str,
            in_child: bool, progress: Callable[[str], None] | None = None) -> CycleReport:
    """The cycle itself, the lease already held."""
    if in_child:
        return run_in_child(services, trigger=trigger, force=force, holder=holder,
                            progress=progress)
    from engine.errors import ArgotError

    try:
        return run_here(services, trigger=trigger, force=force, holder=holder, progress=progress)
    except ArgotError as exc:  # reported like a failed child: the caller prints a report
        return failed(services, trigger, str(exc))


def run_here(services: Services, *, trigger: str, force: bool, holder: str,
             progress: Callable[[str], None] | None) -> CycleReport:
    """The cycle in this process (the CLI's, or the child's)."""
    from engine.learning.cycle import LearningCycle, quiet

    return LearningCycle(services.workbench(), services.learning_config(), trigger=trigger,
                         force=force, holder=holder, progress=progress or quiet).run()


class LeaseRenewal(threading.Thread):
    """Keeps the lease while the cycle runs; stops renewing when told or on shutdown."""

    def __init__(self, services: Services, holder: str) -> None:
        super().__init__(name="argot-lease", daemon=True)
        self.leases = Leases(services.feedback)
        self.holder = holder
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(RENEW_EVERY):
            try:
                self.leases.acquire(LEARNING_LEASE, self.holder, LEASE_SECONDS, take_dead=False)
            except Exception as exc:  # noqa: BLE001 - a blip must not kill the renewal
                log.warning("could not renew the learning lease: %s", exc)

    def stop(self) -> None:
        self.stopped.set()


def run_in_child(services: Services, *, trigger: str, force: bool, holder: str,
                 progress: Callable[[str], None] | None = None) -> CycleReport:
    """The cycle in a fresh interpreter (spawn: no copied threads or torch state). The
    child writes `{"report": ...}` or `{"error": ...}`; a child that dies writes nothing."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="argot-cycle-") as scratch:
        result = Path(scratch) / "report.json"
        child = context.Process(target=child_main, name="argot-learning",
                                args=(services.settings, trigger, force, holder, str(result),
                                      progress))
        child.start()
        child.join()
        if result.is_file():
            found = json.loads(result.read_text())
            if "error" in found:
                return failed(services, trigger, found["error"])
            return CycleReport.from_dict(found["report"])
    how = (f"was killed by signal {-child.exitcode}" if child.exitcode and child.exitcode < 0
           else f"exited with status {child.exitcode}")
    return failed(services, trigger, f"the learning process {how}; the active model is "
                                     "unchanged and the next cycle cleans up")


def child_main(settings: Settings, trigger: str, force: bool, holder: str, result: str,
               progress: Callable[[str], None] | None = None) -> None:
    threads = settings.train_threads or 1
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield_cpu_to_answers()
    import torch

    torch.set_num_threads(threads)
    from bot.services import Services
    from engine.errors import ArgotError

    outcome: dict[str, Any]
    try:
        outcome = {"report": run_here(Services(settings), trigger=trigger, force=force,
                                      holder=holder, progress=progress).as_dict()}
    except ArgotError as exc:
        outcome = {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the parent reports it
        log.exception("learning cycle failed")
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    Path(result).write_text(json.dumps(outcome, default=str))


def yield_cpu_to_answers() -> None:
    """Run this process only on CPU time nobody else wants: SCHED_IDLE on Linux (an
    answer's threads take a core from it at once), the lowest nice value elsewhere."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        try:
            os.nice(19)
        except OSError:
            log.info("could not lower the learning process's priority")


def failed(services: Services, trigger: str, reason: str) -> CycleReport:
    """The report of a cycle that could not finish; the active model is unchanged."""
    return CycleReport.failed(reason, services.active_version().name, trigger)
