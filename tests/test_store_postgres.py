"""The feedback store on a real PostgreSQL (a throw-away cluster the tests start)."""

from __future__ import annotations

import time

import pytest

from engine.feedback import AskedQuestion, FeedbackStore, FeedbackUnavailable, ShownAnswer, Vote
from tests.servers import Postgres, free_port, postgres, wait_until  # noqa: F401 - postgres is a fixture


@pytest.fixture
def store(postgres: Postgres) -> FeedbackStore:  # noqa: F811
    from engine.migrations import upgrade

    url = postgres.fresh_database()
    upgrade(url)
    return FeedbackStore(url)


def test_one_vote_per_person_and_the_latest_counts(store: FeedbackStore) -> None:
    qid = store.record_question(AskedQuestion(text="what is GTQ?", user="U1", channel="C1"))
    store.record_shown(ShownAnswer(qid, "teams/gtq", 1, 0.8, "base", "C1", "171.0001"))
    store.record_vote(Vote(qid, "teams/gtq", "U1", +1))
    store.record_vote(Vote(qid, "teams/gtq", "U1", +1))
    store.record_vote(Vote(qid, "teams/gtq", "U2", -1))
    store.record_vote(Vote(qid, "teams/gtq", "U2", +1))
    assert sorted((v.user, v.value) for v in store.votes_for(qid)) == [("U1", 1), ("U2", 1)]
    assert store.answer_at("C1", "171.0001").doc_id == "teams/gtq"


def test_a_retried_event_is_claimed_once(store: FeedbackStore) -> None:
    assert store.claim_event("Ev1") is True
    assert store.claim_event("Ev1") is False


def test_a_stopped_server_is_one_clear_line_without_the_password(postgres: Postgres) -> None:  # noqa: F811
    url = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(FeedbackUnavailable) as raised:
        FeedbackStore(url)
    assert "is unavailable" in str(raised.value) and "s3cret" not in str(raised.value)


def test_one_lease_holder_among_many_at_once_and_an_expired_lease_is_taken(store: FeedbackStore) -> None:
    import threading

    from engine.leases import Leases

    leases, results = Leases(store), []
    start = threading.Barrier(8)

    def take(n: int) -> None:
        start.wait()
        results.append(leases.acquire("job", f"elsewhere:{n}:x", 0.5)[0])

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    holder, expires_at = leases.holder("job")
    wait_until(lambda: time.time() > expires_at, "the lease to expire", timeout=5)
    assert leases.acquire("job", "latecomer:1:x", 60) == (True, "latecomer:1:x")
