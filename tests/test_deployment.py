"""Several real `argot serve --http` processes on one PostgreSQL and one Chroma server.

Each bot is a real process (tests/argot_double.py: the product's serve path with the
fake text model, so it starts in seconds) driven by the Slack emulator; the tests
deliver an event to one process and Slack's retry of it to the other, and check what
a team would notice: one answer, one vote per person, one learning cycle, the same
model everywhere, and a bot that survives its database restarting.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.playground.emulator import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, SlackEmulator
from bot.playground.emulator.events import Delivery, EventSender, Signing
from bot.services import Services
from bot.settings import Settings
from engine.feedback import FeedbackStore
from engine.learning.cyclelog import CycleLog
from engine.migrations import upgrade
from tests.fakes import FakeEmbedder
from tests.servers import Postgres, chroma_server, postgres, wait_until  # noqa: F401 - fixtures
from tests.slackbot import TEAM_KB, member_id, payload

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"listening for Slack events at http://[^:]+:(\d+)/slack/events")


@dataclass
class BotProcess:
    """One `argot serve --http` process and its log."""

    name: str
    process: subprocess.Popen
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Deployment:
    slack: SlackEmulator
    env: dict[str, str]
    folder: Path
    url: str
    store: FeedbackStore

    @property
    def general(self) -> str:
        return self.slack.channel_id("general")

    def user(self, name: str) -> str:
        return member_id(self.slack, name)

    def run(self, name: str, *argv: str, **env: str) -> BotProcess:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "tests.argot_double", *argv],
                                       env={**self.env, **env}, stdout=out,
                                       stderr=subprocess.STDOUT, cwd=self.folder)
        return BotProcess(name, process, log)

    def serve(self, *names: str, extra: tuple[str, ...] = ("--no-jobs",), **env: str
              ) -> list[BotProcess]:
        """Start one `argot serve --http` per name, all at once; wait until all listen."""
        bots = [self.run(name, "-v", "serve", "--http", "--host", "127.0.0.1", "--port", "0",
                         *extra, **env) for name in names]
        for bot in bots:
            def listening(bot: BotProcess = bot) -> str | None:
                assert bot.process.poll() is None, bot.output()
                found = LISTENING.search(bot.output())
                return found.group(1) if found else None

            port = wait_until(listening, f"{bot.name} to listen", timeout=90)
            bot.url = f"http://127.0.0.1:{port}/slack/events"
        return bots

    def ask(self, bot: BotProcess, text: str, user: str = "alice") -> Delivery:
        self.slack.connect(bot.url, SIGNING_SECRET)
        delivery = self.slack.post_user_message(self.general, self.user(user),
                                                f"<@{BOT_USER_ID}> {text}")
        assert delivery.status == 200, delivery.body
        return delivery

    def answers(self, thread_ts: str) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(self.general, thread_ts) if payload(m)]

    def replies(self, thread_ts: str) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(self.general, thread_ts)
                if m.get("user") == BOT_USER_ID]

    def answered(self, delivery: Delivery, timeout: float = 30) -> list[dict[str, Any]]:
        return self.slack.wait_for(lambda: self.answers(delivery.ts), timeout=timeout,
                                   what="an answer")

    def quiet_after(self, bot: BotProcess) -> None:
        """Wait until `bot` has handled what it was sent before: it answers a new
        question (events are handled in the order they come)."""
        self.answered(self.ask(bot, "what is the quay?"))


def retry_at(bot: BotProcess, delivery: Delivery, retry_num: int = 1) -> Delivery:
    """Slack's retry of `delivery` (same event id, retry headers), sent to `bot`."""
    sender = EventSender(bot.url, SIGNING_SECRET)
    again = sender.resign(replace(delivery.request, url=bot.url),
                          Signing(retry_num=retry_num, retry_reason="http_timeout"))
    return sender.send(replace(again, url=bot.url))


@pytest.fixture(scope="module")
def deployment(postgres: Postgres, chroma_server: tuple[str, int],  # noqa: F811
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("deployment")
    url = postgres.fresh_database()
    upgrade(url)
    host, port = chroma_server
    with SlackEmulator() as slack:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ARGOT_"))},
               "ARGOT_HOME": str(folder / "home"), "DATABASE_URL": url, "CHROMA_HOST": host,
               "CHROMA_PORT": str(port), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
               "ARGOT_CLIP_MODEL": "none", "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        services = Services(Settings.load(env), base_embedder=FakeEmbedder())
        services.ingestor().ingest(TEAM_KB)
        yield Deployment(slack, env, folder, url, services.feedback)


@pytest.fixture(scope="module")
def pair(deployment: Deployment) -> Iterator[tuple[BotProcess, BotProcess]]:
    """Two bots answering the same workspace, without scheduled jobs."""
    a, b = deployment.serve("a", "b")
    yield a, b
    a.stop()
    b.stop()


def test_a_mention_delivered_to_a_and_retried_to_b_gets_one_answer(deployment, pair) -> None:
    a, b = pair
    asked = deployment.ask(a, "who owns the golden ticket queue?")
    assert payload(deployment.answered(asked)[0])["doc_id"] == "teams/gtq"
    deployment.quiet_after(a)
    answered_by_a = deployment.replies(asked.ts)
    assert retry_at(b, asked).status == 200
    deployment.quiet_after(b)
    assert deployment.replies(asked.ts) == answered_by_a


def test_the_same_thumb_through_both_counts_once_and_a_second_persons_counts(
        deployment, pair) -> None:
    a, b = pair
    asked = deployment.ask(a, "what is project phoenix?")
    best = deployment.answered(asked)[0]
    query_id = payload(best)["query_id"]
    bob, carol = deployment.user("bob"), deployment.user("carol")
    thumb = deployment.slack.add_reaction(bob, deployment.general, best["ts"], "+1")
    assert thumb.status == 200 and retry_at(b, thumb).status == 200
    deployment.slack.connect(b.url, SIGNING_SECRET)
    assert deployment.slack.add_reaction(carol, deployment.general, best["ts"], "+1").status == 200
    wait_until(lambda: len(deployment.store.votes_for(query_id)) == 2, "both votes", timeout=20)
    deployment.quiet_after(a)
    deployment.quiet_after(b)
    assert sorted((v.user, v.value) for v in deployment.store.votes_for(query_id)) == \
        sorted([(bob, 1), (carol, 1)])


def test_after_a_promotion_both_answer_with_the_new_version(deployment, pair) -> None:
    from engine.index import ChunkIndex
    from engine.learning.mining import ActiveCorpus
    from engine.learning.promotion import write_collection
    from engine.registry import ModelVersion

    a, b = pair
    services = Services(Settings.load(deployment.env), base_embedder=FakeEmbedder())
    candidate = FakeEmbedder(model_id="ft0001")
    ChunkIndex(services.chroma, "ft0001").drop()
    corpus = ActiveCorpus.from_index(services.index())
    write_collection(services.chroma, "ft0001", corpus,
                     candidate.embed_documents([c.embedding_text for c in corpus.corpus.chunks]))
    name, path = services.registry.new_version_dir()
    assert name == "ft0001"
    services.registry.publish(ModelVersion(name, path=str(path), parent="base"))
    for bot in (a, b):
        asked = deployment.ask(bot, "who approves production deploys?")
        best = payload(deployment.answered(asked)[0])
        assert (best["doc_id"], best["model_version"]) == ("glossary/bosun", "ft0001")


def test_postgres_restarted_under_traffic(deployment, pair, postgres: Postgres) -> None:  # noqa: F811
    a, b = pair
    before = deployment.ask(a, "what is a barnacle?")
    best = deployment.answered(before)[0]
    wait_until(lambda: deployment.store.answer_at(deployment.general, best["ts"]), "the record")
    postgres.stop("fast")
    try:
        during = [deployment.ask(bot, "what is dogwatch?") for bot in (a, b)]
        for asked in during:
            [reply] = deployment.slack.wait_for(lambda asked=asked: deployment.replies(asked.ts),
                                                what="a reply during the outage")
            assert "try again" in reply["text"].lower() and not payload(reply)
    finally:
        postgres.start()
    after = deployment.ask(b, "what is the slipway?")
    assert payload(deployment.answered(after)[0])["doc_id"] == "glossary/slipway"
    people = [deployment.user(f"voter{n}") for n in range(6)]
    for n, person in enumerate(people):
        deployment.slack.connect((a, b)[n % 2].url, SIGNING_SECRET)
        assert deployment.slack.add_reaction(person, deployment.general, best["ts"], "+1").status == 200
    query_id = payload(best)["query_id"]
    wait_until(lambda: len(deployment.store.votes_for(query_id)) == len(people), "every vote",
               timeout=30)


def test_sigterm_stops_a_bot_as_ctrl_c_does(deployment) -> None:
    """`docker stop` and systemd send SIGTERM: the bot stops in order, as on Ctrl-C (its
    exit status and last words say so), rather than dying of the signal."""
    [bot] = deployment.serve("stopped")
    deployment.quiet_after(bot)
    bot.process.send_signal(signal.SIGTERM)
    try:
        assert bot.process.wait(timeout=30) == 130, bot.output()
    finally:
        bot.stop()
    assert "interrupted" in bot.output()


def test_both_schedulers_due_at_once_run_one_cycle(deployment) -> None:
    """The stored job falls due while both bots are up: both fire at the same instant
    (their logs say so), one runs the cycle, the other finds the lease taken."""
    import datetime as dt

    from jobs.scheduler import JOB_ID, build_scheduler

    services = Services(Settings.load({**deployment.env, "ARGOT_MIN_NEW_RATINGS": "0"}),
                        base_embedder=FakeEmbedder())
    scheduler = build_scheduler(services)
    scheduler.start(paused=True)
    due_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=25)
    scheduler.get_job(JOB_ID).modify(next_run_time=due_at)
    scheduler.shutdown(wait=False)
    log = CycleLog(deployment.store)
    known = {c.cycle_id for c in log.recent(100)}
    bots = deployment.serve("sched-a", "sched-b", extra=(), ARGOT_TEST_CYCLE_SECONDS="4",
                            ARGOT_MIN_NEW_RATINGS="0")
    try:
        assert dt.datetime.now(dt.UTC) < due_at, "the bots took too long to start"
        wait_until(lambda: [c for c in log.recent(100) if c.cycle_id not in known
                            and c.decision == "rejected"], "the cycle", timeout=60)
        cycles = [c for c in log.recent(100) if c.cycle_id not in known]
        ran = [c for c in cycles if c.reason == "stand-in"]
        assert len(ran) == 1, cycles
        assert all("another learning cycle is running" in (c.reason or "")
                   for c in cycles if c not in ran)
    finally:
        for bot in bots:
            bot.stop()


def test_a_killed_lease_holder_elsewhere_is_taken_over_once_the_lease_expires(deployment) -> None:
    env = {"ARGOT_TEST_CYCLE_SECONDS": "120", "ARGOT_TEST_LEASE_SECONDS": "4"}
    holder = deployment.run("train-a", "train", "--force", ARGOT_TEST_HOST="machine-a", **env)
    wait_until(lambda: "stand-in cycle" in holder.output(), "machine A's cycle", timeout=60)
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait()
    killed_at = time.monotonic()

    blocked = deployment.run("train-b1", "train", "--force", "--json", ARGOT_TEST_HOST="machine-b",
                             **env)
    assert blocked.process.wait(timeout=60) == 0
    assert "another learning cycle is running (machine-a:" in blocked.output()

    wait_until(lambda: time.monotonic() - killed_at > 4.5, "the lease to expire", timeout=10)
    env["ARGOT_TEST_CYCLE_SECONDS"] = "0"
    taker = deployment.run("train-b2", "train", "--force", "--json", ARGOT_TEST_HOST="machine-b",
                           **env)
    assert taker.process.wait(timeout=60) == 0, taker.output()
    assert '"reason": "stand-in"' in taker.output()
