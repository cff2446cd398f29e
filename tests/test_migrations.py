"""Schema migrations: a database made before migrations upgrades with every row kept;
processes starting together never race; PostgreSQL is upgraded only on request."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.cli import main
from engine.feedback import FeedbackStore
from engine.learning.cyclelog import CycleLog
from engine.migrations import SchemaOutOfDate, current, head, upgrade
from engine.schema import metadata
from tests.servers import Postgres, postgres  # noqa: F401 - postgres is a fixture

FIXTURE = Path(__file__).parent / "fixtures" / "feedback-1bbdd58.db"
"""Made by the code of commit 1bbdd58 (tests/fixtures/make_1bbdd58_db.py)."""


def rows(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return sorted(conn.execute(query).fetchall())


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    copy = tmp_path / "argot.db"
    shutil.copy(FIXTURE, copy)
    return copy


def test_a_database_made_before_migrations_keeps_every_vote_question_and_cycle(old_db: Path) -> None:
    votes = rows(old_db, 'SELECT query_id, doc_id, "user", value, updated_at FROM votes')
    questions = rows(old_db, "SELECT query_id, text, user, channel, created_at FROM questions")
    cycles = rows(old_db, "SELECT cycle_id, decision, report FROM learning_cycles")
    shown = rows(old_db, "SELECT query_id, doc_id, rank, model_version, message_ts FROM shown")
    assert len(votes) == 13 and len({v[2] for v in votes}) == 4 and len(cycles) == 3

    before, after = upgrade(f"sqlite:///{old_db}")
    assert (before, after) == (None, head())
    assert rows(old_db, 'SELECT query_id, doc_id, "user", value, updated_at FROM votes') == votes
    assert rows(old_db, "SELECT query_id, text, user, channel, created_at FROM questions") == questions
    assert rows(old_db, "SELECT cycle_id, decision, report FROM learning_cycles") == cycles
    # 0002: shown.model_version is now shown.ranked_by, every row kept
    assert rows(old_db, "SELECT query_id, doc_id, rank, ranked_by, message_ts FROM shown") == shown

    store = FeedbackStore(f"sqlite:///{old_db}")
    assert [(v.user, v.value) for v in store.votes_for("q3")] == [("U0", -1), ("U1", 1), ("U2", 1),
                                                                   ("U3", -1)]
    assert [(s.doc_id, s.ranked_by) for s in store.shown_for("q3")] == [("glossary/term3", "ft0001"),
                                                                         ("teams/gtq", "ft0001")]
    assert len(store.training_pairs()) == 3 and not store.claim_event("Ev2")
    assert {c.cycle_id: c.decision for c in CycleLog(store).recent()} == \
        {"cycle-1": "promoted", "cycle-2": "rejected", "cycle-3": None}


def test_opening_an_old_sqlite_database_upgrades_it_in_place(old_db: Path) -> None:
    store = FeedbackStore(f"sqlite:///{old_db}")
    with store.connect() as conn:
        assert current(conn) == head()
    assert store.vote_count() == 13


def test_the_code_reads_the_schema_the_migrations_make(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    with create_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "argot_scheduled_jobs" not in str(d)] == []


def test_argot_db_upgrade_says_what_it_did(home: Path, capsys: pytest.CaptureFixture) -> None:
    home.mkdir(parents=True)
    shutil.copy(FIXTURE, home / "argot.db")
    assert main(["db", "upgrade"]) == 0
    assert f"schema none → {head()}" in capsys.readouterr().err
    assert main(["db", "upgrade"]) == 0
    assert f"schema {head()} is current" in capsys.readouterr().err


def test_postgres_waits_for_argot_db_upgrade(postgres: Postgres, home: Path,  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    url = postgres.fresh_database()
    with pytest.raises(SchemaOutOfDate, match="run `argot db upgrade`"):
        FeedbackStore(url)
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert f"schema none → {head()}" in capsys.readouterr().err
    assert FeedbackStore(url).vote_count() == 0


def test_serve_on_an_old_postgres_schema_stops_with_one_line(
        postgres: Postgres, home: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture) -> None:
    from bot.playground.emulator import BOT_TOKEN, SIGNING_SECRET

    for name, value in (("DATABASE_URL", postgres.fresh_database()), ("SLACK_BOT_TOKEN", BOT_TOKEN),
                        ("SLACK_SIGNING_SECRET", SIGNING_SECRET)):
        monkeypatch.setenv(name, value)
    assert main(["serve", "--http", "--no-jobs", "--port", "0"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "has no Argot schema yet" in line and "run `argot db upgrade`" in line


def test_processes_upgrading_at_once_never_race(postgres: Postgres) -> None:  # noqa: F811
    """Without the advisory lock, the second CREATE TABLE fails with a duplicate
    pg_type key (the start-up crash two bot processes had)."""
    url = postgres.fresh_database()
    script = "import sys; from engine.migrations import upgrade; print(upgrade(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], [err for _, err in results]
    assert sorted(out.strip() for out, _ in results) == \
        sorted([f"(None, '{head()}')"] + [f"('{head()}', '{head()}')"] * 3)


def test_argot_db_copy_moves_a_sqlite_home_to_postgres(postgres: Postgres, old_db: Path,  # noqa: F811
                                                      home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    url = postgres.fresh_database()
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["db", "copy", f"sqlite:///{old_db}"]) == 0
    assert "13 votes" in capsys.readouterr().err
    old, new = FeedbackStore(f"sqlite:///{old_db}"), FeedbackStore(url)
    for query_id in ("q0", "q3", "q5"):
        assert new.votes_for(query_id) == old.votes_for(query_id)
        assert new.question(query_id) == old.question(query_id)
    assert [c.cycle_id for c in CycleLog(new).recent()] == [c.cycle_id for c in CycleLog(old).recent()]
    from engine.feedback import TrainingPair

    assert new.add_training_pairs([TrainingPair("faq", "a new question", "faq/new")]) == 1
    assert main(["db", "copy", f"sqlite:///{old_db}"]) == 2
    assert "already holds questions" in capsys.readouterr().err


def test_a_new_sqlite_file_opens_while_the_job_store_writes_to_it(tmp_path: Path) -> None:
    """The scheduler's job store may create the file first and keep writing; switching
    the file to WAL then fails at once unless retried (it did, one time in four)."""
    import threading

    from sqlalchemy import text

    for attempt in range(10):
        url = f"sqlite:///{tmp_path / f'{attempt}.db'}"
        jobs = create_engine(url)
        with jobs.begin() as conn:
            conn.execute(text("CREATE TABLE jobs (id INTEGER, at FLOAT)"))
        stop = threading.Event()

        def write(jobs=jobs, stop=stop) -> None:
            while not stop.is_set():
                with jobs.begin() as conn:
                    conn.execute(text("INSERT INTO jobs VALUES (1, 2.0)"))

        writer = threading.Thread(target=write)
        writer.start()
        try:
            assert FeedbackStore(url).vote_count() == 0
        finally:
            stop.set()
            writer.join()
            jobs.dispose()
