"""Questions nobody could answer: found, grouped by topic, posted weekly to the ops
channel; and the hourly refresh of indexed channels."""

from __future__ import annotations

import time
from dataclasses import replace

from slack_sdk import WebClient

from bot.channelindex import index_channel
from bot.playground.emulator import BOT_TOKEN, SlackEmulator
from bot.services import Services
from engine.feedback import AskedQuestion, ShownAnswer, Vote
from engine.knowledge.gaps import recent_questions, topics, unanswered
from jobs.channels import ensure_surface_jobs, refresh_channels
from jobs.digest import DIGEST_JOB_ID, post_digest
from tests.fakes import FakeEmbedder


def asked(services: Services, text: str, *, user: str = "U1", channel: str = "C1",
          shown: tuple[str, ...] = (), votes: tuple[int, ...] = ()) -> str:
    store = services.feedback
    question = AskedQuestion(text=text, user=user, channel=channel, thread_ts="1.0")
    store.record_question(question)
    for rank, doc_id in enumerate(shown, start=1):
        store.record_shown(ShownAnswer(question.query_id, doc_id, rank, 0.5, "base", channel,
                                       f"{rank}.0"))
    for doc_id, value in zip(shown, votes, strict=False):
        store.record_vote(Vote(question.query_id, doc_id, user, value))
    return question.query_id


def test_unanswered_means_everything_shown_got_a_thumbs_down_or_nothing_was_found(
        services: Services) -> None:
    nothing = asked(services, "what is nightjar?")
    rejected = asked(services, "who owns the tollbooth?", shown=("a", "b"), votes=(-1, -1))
    half = asked(services, "what is a bosun?", shown=("a", "b"), votes=(-1,))
    liked = asked(services, "what is the quay?", shown=("a", "b"), votes=(-1, 1))
    gaps = {gap.query_id for gap in unanswered(services.feedback)}
    assert gaps == {nothing, rejected}
    assert half not in gaps and liked not in gaps
    outcomes = {r.query_id: r.outcome for r in recent_questions(services.feedback, "U1", 10)}
    assert outcomes[liked] == "answered" and outcomes[half] == "not rated"
    assert outcomes[nothing] == "unanswered"


def test_gaps_are_grouped_by_topic_with_counts(services: Services) -> None:
    for text in ("what is nightjar?", "nightjar is down again, who runs nightjar?",
                 "how do I restart nightjar", "who owns the tollbooth?", "tollbooth config?"):
        asked(services, text)
    grouped = topics(unanswered(services.feedback), FakeEmbedder(), similarity=0.25)
    assert [(t.label, len(t.questions)) for t in grouped][:2] == [("nightjar", 3), ("tollbooth", 2)]


def test_the_weekly_digest_goes_to_the_ops_channel_and_quotes_only_public_questions(
        services: Services) -> None:
    with SlackEmulator() as slack:
        ops = slack.add_channel("argot-ops")
        secret = slack.add_channel("leadership", private=True)
        general = slack.channel_id("general")
        services.settings = replace(services.settings, ops_channel=ops)
        asked(services, "what is nightjar?", channel=general)
        asked(services, "why does nightjar fail on fridays?", channel=general)
        asked(services, "is nightjar behind the layoffs?", channel=secret)
        asked(services, "what was answered long ago?", channel=general)
        client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
        text = post_digest(services, client)
        [posted] = slack.messages(ops)
        assert posted["text"] == text
        assert "4 questions nobody could answer" in text
        assert "what is nightjar?" in text and "fridays" in text
        assert "layoffs" not in text  # asked in a private channel: counted, never quoted


def test_no_digest_in_a_week_without_gaps(services: Services) -> None:
    services.settings = replace(services.settings, ops_channel="C9")
    asked(services, "what is the quay?", shown=("a",), votes=(1,))
    assert post_digest(services, object()) is None
    old = time.time() - 30 * 86400
    assert post_digest(services, object(), now=old + 8 * 86400) is None


def test_the_refresh_reads_new_threads_of_every_indexed_channel(services: Services) -> None:
    with SlackEmulator() as slack:
        general = slack.channel_id("general")
        alice, bob = slack.user_id("alice"), slack.user_id("bob")
        client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
        index_channel(client, services, general)
        root = slack.post_user_message(general, alice, "What is Nightjar?").ts
        slack.post_user_message(general, bob, "Nightjar settles invoices overnight.",
                                thread_ts=root, deliver=False)
        [run] = refresh_channels(services, client)
        assert run.added == [f"slack/{general}/{root}"]


def test_the_scheduler_gets_the_refresh_and_digest_jobs_once(services: Services) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler()
    ensure_surface_jobs(scheduler, services)
    ensure_surface_jobs(scheduler, services)
    ids = sorted(job.id for job in scheduler.get_jobs())
    assert ids == sorted(["argot-channel-refresh", DIGEST_JOB_ID])
