"""The schedule and the lease: one cycle at a time, missed runs coalesced, reports posted.

The cycle itself is replaced by a stand-in here (`jobs.learning.execute`); the tests in
test_learning_cycle.py run the real one.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

from bot.playground.emulator import BOT_TOKEN, SlackEmulator
from bot.services import Services
from engine.learning.cyclelog import CycleLog
from engine.learning.report import CycleReport
from engine.leases import LEARNING_LEASE, Leases
from jobs import learning
from jobs.scheduler import JOB_ID, build_scheduler


class StandIn:
    """Counts cycles and notices two running at once. After `hold()`, a cycle keeps
    running (and its lease held) until `release()`, as a real cycle of minutes would."""

    def __init__(self, report: dict | None = None) -> None:
        self.calls = 0
        self.running = 0
        self.overlapped = False
        self.report = report or {}
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.released.set()

    def hold(self) -> None:
        self.released.clear()

    def release(self) -> None:
        self.released.set()

    def __call__(self, services, *, trigger, force, holder, in_child, progress=None):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.overlapped |= self.running > 1
        self.released.wait(timeout=30)
        with self.lock:
            self.running -= 1
        return CycleReport(**{"decision": "rejected", "reason": "stand-in", "trigger": trigger,
                              "active_version": "base", **self.report})


@pytest.fixture
def due(settings):
    """Settings under which a cycle is always due (no minimum of new ratings)."""
    return replace(settings, min_new_ratings=0)


@pytest.fixture
def stand_in(monkeypatch):
    fake = StandIn()
    monkeypatch.setattr(learning, "execute", fake)
    yield fake
    fake.release()  # a failed test must not leave a cycle waiting


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Heard:
    """What a scheduler did with the learning job, from its own events: the run times of
    each submission (all the missed runs it decided to make) and each finished run's report."""

    def __init__(self, scheduler) -> None:
        self.submitted: list[list[dt.datetime]] = []
        self.reports: list[dict | None] = []
        scheduler.add_listener(self.hear, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def hear(self, event) -> None:
        if event.code == EVENT_JOB_SUBMITTED:
            self.submitted.append(list(event.scheduled_run_times))
        else:
            self.reports.append(getattr(event, "retval", None))


def test_the_job_is_kept_in_the_database_with_the_configured_schedule(settings, fake_embedder):
    services = Services(replace(settings, train_schedule="30 2 * * *"), base_embedder=fake_embedder)
    scheduler = build_scheduler(services)
    scheduler.start(paused=True)
    job = scheduler.get_job(JOB_ID)
    assert "hour='2'" in str(job.trigger) and "minute='30'" in str(job.trigger)
    assert job.coalesce is True and job.max_instances == 1
    first_run = job.next_run_time
    assert (first_run.hour, first_run.minute) == (2, 30)
    scheduler.shutdown(wait=False)

    again = build_scheduler(Services(services.settings, base_embedder=fake_embedder))
    again.start(paused=True)
    assert again.get_job(JOB_ID).next_run_time == first_run  # from the store, not recomputed
    again.shutdown(wait=False)


    changed = build_scheduler(Services(replace(settings, train_schedule="0 4 * * 1"),
                                       base_embedder=fake_embedder))
    changed.start(paused=True)
    assert "day_of_week='1'" in str(changed.get_job(JOB_ID).trigger)
    changed.shutdown(wait=False)


def test_runs_missed_while_the_bot_was_down_are_coalesced_into_one(due, fake_embedder, stand_in):
    # Hourly, half an hour away from now: no run falls due on its own during the test.
    minute = (dt.datetime.now(dt.UTC).minute + 30) % 60
    services = Services(replace(due, train_schedule=f"{minute} * * * *"), base_embedder=fake_embedder)
    scheduler = build_scheduler(services)
    scheduler.start(paused=True)
    five_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    scheduler.get_job(JOB_ID).modify(next_run_time=five_hours_ago)  # 5 runs missed
    heard = Heard(scheduler)
    scheduler.resume()
    try:
        assert wait_until(lambda: heard.submitted and heard.reports)
        # All missed runs are decided in one pass, before any runs: one submission of one run.
        assert [len(run_times) for run_times in heard.submitted] == [1]
        assert stand_in.calls == 1
        # ...and the next one is half an hour away, so nothing else can fall due.
        assert scheduler.get_job(JOB_ID).next_run_time > dt.datetime.now(dt.UTC)
    finally:
        scheduler.shutdown(wait=False)


def test_two_schedulers_on_one_database_run_one_cycle(due, fake_embedder, stand_in):
    first = build_scheduler(Services(due, base_embedder=fake_embedder))
    second = build_scheduler(Services(due, base_embedder=fake_embedder))
    first.start(paused=True)
    second.start(paused=True)
    heard_first, heard_second = Heard(first), Heard(second)
    stand_in.hold()
    first.get_job(JOB_ID).modify(next_run_time=dt.datetime.now(dt.UTC))
    first.resume()
    try:
        assert wait_until(lambda: heard_first.submitted and stand_in.running == 1)
        # The second bot process finds the job due at the same minute, while the cycle runs.
        second.get_job(JOB_ID).modify(next_run_time=dt.datetime.now(dt.UTC))
        second.resume()
        assert wait_until(lambda: heard_second.reports)
        [skipped] = heard_second.reports
        assert skipped.decision == "skipped" and "another learning cycle is running" in skipped.reason
        stand_in.release()
        assert wait_until(lambda: heard_first.reports)
        assert heard_first.reports[0].decision == "rejected"  # the stand-in's own report
        assert stand_in.calls == 1 and not stand_in.overlapped
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)


def test_two_cycles_started_at_once_run_one_and_skip_the_other(due, fake_embedder, stand_in):
    reports: list[CycleReport] = []

    def start() -> None:
        reports.append(learning.run_cycle(Services(due, base_embedder=fake_embedder),
                                          trigger="schedule", post=False))

    stand_in.hold()
    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    assert wait_until(lambda: len(reports) == 1)  # one was turned away while the other runs
    stand_in.release()
    for thread in threads:
        thread.join()
    assert stand_in.calls == 1
    skipped = [r for r in reports if r.decision == "skipped"]
    assert len(skipped) == 1 and "another learning cycle is running" in skipped[0].reason
    # the lease is free again afterwards
    assert Leases(Services(due, base_embedder=fake_embedder).feedback).holder() is None


def _exit_at_once() -> None:
    return None


def test_a_lease_left_by_a_killed_process_is_taken_over(due, fake_embedder, stand_in):
    child = multiprocessing.get_context("spawn").Process(target=_exit_at_once)
    child.start()
    child.join()
    services = Services(due, base_embedder=fake_embedder)
    dead = f"{socket.gethostname()}:{child.pid}:abcdef"
    assert Leases(services.feedback).acquire(LEARNING_LEASE, dead, 3600, take_dead=False)[0]

    report = learning.run_cycle(services, post=False)
    assert report.decision == "rejected" and stand_in.calls == 1


def test_a_lease_held_by_a_live_process_elsewhere_is_respected(due, fake_embedder, stand_in):
    services = Services(due, base_embedder=fake_embedder)
    assert Leases(services.feedback).acquire(LEARNING_LEASE, "other-host:4242:abcdef", 3600)[0]
    report = learning.run_cycle(services, post=False)
    assert report.decision == "skipped" and "other-host:4242" in report.reason
    assert stand_in.calls == 0


def test_too_few_new_ratings_skip_without_starting_a_cycle(settings, fake_embedder, stand_in):
    services = Services(replace(settings, min_new_ratings=5), base_embedder=fake_embedder)
    report = learning.run_cycle(services, post=False)
    assert report.decision == "skipped"
    assert report.reason.startswith("0 new ratings since the last cycle; 5 are needed")
    assert stand_in.calls == 0
    assert CycleLog(services.feedback).recent(1)[0].decision == "skipped"


def test_the_report_goes_to_the_ops_channel_with_its_picture(due, fake_embedder, monkeypatch,
                                                             tmp_path: Path):
    picture = tmp_path / "map.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    monkeypatch.setattr(learning, "execute", StandIn(report={
        "decision": "promoted", "reason": "held-out nDCG@10 0.500 → 0.600 (+0.100)",
        "active_version": "ft0001", "candidate_version": "ft0001", "pairs": 12,
        "hard_negatives": 30, "image": str(picture),
        "metrics": {"active": {"ndcg@10": 0.5, "queries": 8}, "candidate": {"ndcg@10": 0.6,
                                                                           "queries": 8}}}))
    with SlackEmulator() as slack:
        ops = slack.add_channel("argot-ops")
        settings = replace(due, ops_channel=ops, slack_bot_token=BOT_TOKEN,
                           slack_api_url=slack.api_url)
        learning.run_cycle(Services(settings, base_embedder=fake_embedder))
        messages = slack.messages(ops)
        assert "PROMOTED" in messages[0]["text"] and "0.500 → 0.600" in messages[0]["text"]
        replies = slack.messages(ops, thread_ts=messages[0]["ts"])
        uploads = [m for m in replies if m.get("files")]
        assert uploads, "the embedding-space picture is uploaded in the report's thread"
        assert slack.file_content(uploads[0]["files"][0]["id"]) == picture.read_bytes()


def scheduling_policy_after_yielding(result) -> None:
    learning.yield_cpu_to_answers()
    result.put(os.sched_getscheduler(0))


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_learning_process_only_gets_cpu_time_answers_leave_idle():
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    child = context.Process(target=scheduling_policy_after_yielding, args=(result,))
    child.start()
    policy = result.get(timeout=60)
    child.join()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the answering process is untouched
