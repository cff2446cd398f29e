"""Whoever can write the database cannot run code in the bot through the job store."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa

from bot.services import Services
from jobs.scheduler import JOB_ID, JOBS_TABLE, build_scheduler


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(settings, job_id: str, state: bytes) -> None:
    engine = sa.create_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {JOBS_TABLE} WHERE id = :id"), {"id": job_id})
        conn.execute(sa.text(f"INSERT INTO {JOBS_TABLE} (id, next_run_time, job_state) "
                             "VALUES (:id, 1.0, :state)"), {"id": job_id, "state": state})
    engine.dispose()


def started(settings, fake_embedder):
    scheduler = build_scheduler(Services(settings, base_embedder=fake_embedder))
    scheduler.start(paused=True)
    return scheduler


def test_a_pickled_job_planted_in_the_database_is_never_unpickled(settings, fake_embedder,
                                                                   tmp_path: Path) -> None:
    started(settings, fake_embedder).shutdown(wait=False)  # creates the table
    marker = tmp_path / "pwned"
    plant(settings, JOB_ID, pickle.dumps(Payload(marker)))
    scheduler = started(settings, fake_embedder)
    try:
        assert not marker.exists()
        job = scheduler.get_job(JOB_ID)  # dropped and added afresh with the configured schedule
        assert job is not None and job.func_ref == "jobs.scheduler:scheduled_cycle"
    finally:
        scheduler.shutdown(wait=False)


def test_a_json_job_naming_another_function_is_dropped(settings, fake_embedder, tmp_path: Path) -> None:
    started(settings, fake_embedder).shutdown(wait=False)
    marker = tmp_path / "pwned"
    forged = {"id": "evil", "name": "evil", "func": "os:system", "args": [f"touch {marker}"],
              "executor": "default", "misfire_grace_time": 1, "coalesce": True, "max_instances": 1,
              "next_run_time": "2000-01-01T00:00:00+00:00",
              "trigger": {"interval": 1, "start": None, "timezone": "UTC"}}
    plant(settings, "evil", json.dumps(forged).encode())
    scheduler = started(replace(settings), fake_embedder)
    try:
        assert scheduler.get_job("evil") is None
        assert not marker.exists()
    finally:
        scheduler.shutdown(wait=False)


def test_the_stored_schedule_is_plain_json(settings, fake_embedder) -> None:
    started(settings, fake_embedder).shutdown(wait=False)
    engine = sa.create_engine(settings.db_url)
    with engine.connect() as conn:
        state = conn.execute(sa.text(f"SELECT job_state FROM {JOBS_TABLE} WHERE id = :id"),
                             {"id": JOB_ID}).scalar()
    engine.dispose()
    stored = json.loads(state)
    assert stored["func"] == "jobs.scheduler:scheduled_cycle"
    assert stored["trigger"]["cron"]["hour"] == "3"
