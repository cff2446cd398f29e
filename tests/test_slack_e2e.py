"""The real bot in HTTP mode, driven end to end by the Slack emulator: signed events in,
Web API calls out, votes in the feedback store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest

from bot.playground.emulator import BOT_USER_ID, Signing
from bot.services import Services
from engine.feedback import Vote
from handlers import blocks
from handlers.answers import ALTERNATIVES, ANSWERS_SHOWN, worth_showing
from tests.fakes import FakeEmbedder
from tests.slackbot import Bot, load_team_kb, payload, running_bot


@pytest.fixture
def bot(services: Services) -> Iterator[Bot]:
    load_team_kb(services)
    with running_bot(services) as running:
        yield running


def answers_in(bot: Bot, channel: str, thread_ts: str) -> list[dict]:
    return [m for m in bot.slack.messages(channel, thread_ts) if payload(m)]


def answers_expected(bot: Bot, text: str) -> int:
    """How many answers the bot posts for `text` in #general: the documents worth showing."""
    return len(worth_showing(bot.services.retriever().search(text, ANSWERS_SHOWN,
                                                             channel=bot.general)))


def alternatives_expected(bot: Bot, text: str, shown: list[dict]) -> int:
    """How many messages a 👎 on the best match brings: the alternatives, or one "no more"."""
    more = bot.services.retriever().search(text, ALTERNATIVES, channel=bot.general,
                                           exclude=[payload(m)["doc_id"] for m in shown])
    return max(1, len(more))


def test_a_mention_is_answered_in_its_thread_with_metadata(bot: Bot) -> None:
    question = "what is project phoenix?"
    asked, replies = bot.ask(question, count=answers_expected(bot, question))
    answers = answers_in(bot, bot.general, asked.ts)
    best = payload(answers[0])
    assert best["doc_id"] == "services/phoenix" and best["rank"] == 1
    assert best["model_version"] == "base" and best["score"] > 0
    assert [payload(a)["rank"] for a in answers] == list(range(1, len(answers) + 1))
    assert all(a["thread_ts"] == asked.ts for a in answers)
    assert "Project Phoenix" in answers[0]["blocks"][0]["text"]["text"]
    assert bot.services.feedback.question(best["query_id"]).channel == bot.general


def test_any_message_in_a_dm_is_a_question(bot: Bot) -> None:
    dm = bot.slack.dm(bot.user("alice"))
    asked, replies = bot.ask("who owns the golden ticket queue?", channel=dm, mention=False)
    assert payload(replies[0])["doc_id"] == "teams/gtq"


def test_thumbs_are_votes_latest_wins_and_removal_withdraws(bot: Bot) -> None:
    asked, [best, *_] = bot.ask("what is project phoenix?")
    query_id, bob = payload(best)["query_id"], bot.user("bob")
    feedback = bot.services.feedback

    assert bot.slack.add_reaction(bob, bot.general, best["ts"], "+1::skin-tone-5").status == 200
    bot.eventually(lambda: feedback.votes_for(query_id), what="the vote")
    assert feedback.votes_for(query_id) == [Vote(query_id, "services/phoenix", bob, 1)]

    bot.slack.remove_reaction(bob, bot.general, best["ts"], "+1::skin-tone-5")
    bot.eventually(lambda: not feedback.votes_for(query_id), what="the withdrawal")

    bot.slack.add_reaction(bob, bot.general, best["ts"], "thumbsup")
    bot.eventually(lambda: feedback.votes_for(query_id), what="the vote again")
    bot.slack.add_reaction(bob, bot.general, best["ts"], "-1")
    bot.eventually(lambda: [v.value for v in feedback.votes_for(query_id)] == [-1],
                       what="the latest vote")


def test_thumbs_down_on_the_best_match_brings_rateable_alternatives(bot: Bot) -> None:
    question = "what is project phoenix?"
    asked, [best, *_] = bot.ask(question, count=answers_expected(bot, question))
    before = answers_in(bot, bot.general, asked.ts)
    coming = alternatives_expected(bot, question, before)
    bot.slack.add_reaction(bot.user("bob"), bot.general, best["ts"], "-1")
    everything = bot.slack.wait_for_messages(bot.general, asked.ts, count=len(before) + coming,
                                             user=BOT_USER_ID)
    alternatives = answers_in(bot, bot.general, asked.ts)[len(before):]
    assert 1 <= len(alternatives) <= 3 and len(everything) >= len(before) + 1
    assert {payload(a)["doc_id"] for a in alternatives}.isdisjoint(
        payload(b)["doc_id"] for b in before)
    alternative = alternatives[0]
    bot.slack.add_reaction(bot.user("carol"), bot.general, alternative["ts"], "+1")
    query_id = payload(alternative)["query_id"]
    bot.eventually(lambda: any(v.doc_id == payload(alternative)["doc_id"]
                                   for v in bot.services.feedback.votes_for(query_id)),
                       what="a vote on the alternative")


def test_a_retried_delivery_changes_nothing(bot: Bot) -> None:
    question = "what is project phoenix?"
    asked, _ = bot.ask(question, count=answers_expected(bot, question))
    count = len(bot.slack.messages(bot.general, asked.ts))
    again = bot.slack.redeliver(asked, retry_num=1, reason="http_timeout")
    assert again.status == 200
    shown = answers_in(bot, bot.general, asked.ts)
    best, coming = shown[0], alternatives_expected(bot, question, shown)
    vote = bot.slack.add_reaction(bot.user("bob"), bot.general, best["ts"], "-1")
    bot.slack.wait_for_messages(bot.general, asked.ts, count=count + coming)
    after_alternatives = len(bot.slack.messages(bot.general, asked.ts))
    bot.slack.redeliver(vote, retry_num=2, reason="http_error")
    bot.slack.redeliver(asked, retry_num=2)
    bot.settle()
    assert len(bot.slack.messages(bot.general, asked.ts)) == after_alternatives
    assert len(bot.services.feedback.votes_for(payload(best)["query_id"])) == 1


@pytest.mark.parametrize("signing", [Signing(forge=True), Signing(stale=True)],
                         ids=["forged", "stale"])
def test_a_forged_or_stale_signature_is_refused_and_nothing_stored(bot: Bot, signing) -> None:
    delivery = bot.slack.post_user_message(bot.general, bot.user("alice"),
                                           f"<@{BOT_USER_ID}> what is project phoenix?",
                                           signing=signing)
    assert delivery.status == 401  # refused before any listener ran: nothing can follow
    assert bot.slack.calls_to("chat.postMessage") == []
    assert bot.services.feedback.export() is not None
    assert not list(bot.services.feedback.export())
    assert bot.services.feedback.claim_event(delivery.event_id)  # never claimed by the bot


def test_a_rate_limited_post_is_retried_and_delivered(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", 429, retry_after=1)
    asked, [best, *_] = bot.ask("what is project phoenix?")
    assert payload(best)["doc_id"] == "services/phoenix"
    first_two = bot.slack.calls_to("chat.postMessage")[:2]
    assert first_two[0].params["metadata"] == first_two[1].params["metadata"]
    assert first_two[1].timestamp - first_two[0].timestamp >= 0.9


def test_votes_survive_a_restart(bot: Bot, fake_embedder: FakeEmbedder) -> None:
    asked, [best, *_] = bot.ask("what is project phoenix?")
    query_id, bob = payload(best)["query_id"], bot.user("bob")
    bot.slack.add_reaction(bob, bot.general, best["ts"], "+1")
    bot.eventually(lambda: bot.services.feedback.votes_for(query_id), what="the vote")
    bot.http.stop()

    restarted = Services(bot.services.settings, base_embedder=fake_embedder)
    assert restarted.feedback.votes_for(query_id) == [Vote(query_id, "services/phoenix", bob, 1)]
    with running_bot(restarted, slack=bot.slack):
        bot.slack.remove_reaction(bob, bot.general, best["ts"], "+1")
        bot.eventually(lambda: not restarted.feedback.votes_for(query_id),
                           what="the withdrawal after the restart")


def test_a_private_glossary_entry_never_appears_elsewhere(bot: Bot) -> None:
    alice = bot.user("alice")
    secret = bot.slack.add_channel("skunkworks", private=True, members=[alice])
    defined = bot.slack.slash_command(alice, secret, text="define Zorblax: the secret rocket")
    assert defined.status == 200
    bot.slack.wait_for(lambda: any("Only people in this conversation" in e["text"]
                                   for e in bot.slack.ephemerals(secret, alice)),
                       what="the definition's confirmation")

    _, [here, *_] = bot.ask("what is zorblax?", channel=secret)
    assert payload(here)["doc_id"] == f"defined/{secret}/zorblax"
    assert f"<@{alice}>" in here["blocks"][1]["elements"][0]["text"]

    asked, _ = bot.ask("what is zorblax?")
    dm = bot.slack.dm(alice)
    in_dm, _ = bot.ask("what is zorblax?", channel=dm, mention=False)
    bot.slack.slash_command(alice, bot.general, text="what is zorblax?")
    bot.settle()
    answers = answers_in(bot, bot.general, asked.ts) + answers_in(bot, dm, in_dm.ts)
    assert answers and not any(payload(a)["doc_id"].startswith("defined/") for a in answers)
    everything = str(bot.slack.messages(bot.general, asked.ts) + bot.slack.messages(dm, in_dm.ts)
                     + bot.slack.ephemerals(bot.general))
    assert "secret rocket" not in everything


def test_bad_input(bot: Bot) -> None:
    alice = bot.user("alice")
    _, [help_reply, *_] = bot.ask("")
    assert help_reply["text"] == blocks.EMPTY_QUESTION

    bot.slack.add_reaction(bot.user("bob"), bot.general, help_reply["ts"], "+1")
    unknown = bot.slack.slash_command(alice, bot.general, text="defnie X: y")
    assert "`defnie`" in unknown.json()["text"]
    bot.settle()
    assert not list(bot.services.feedback.export())


def test_other_bots_and_the_bots_own_reactions_are_ignored(bot: Bot) -> None:
    asked, [best, *_] = bot.ask("what is project phoenix?")
    dm = bot.slack.dm(bot.user("alice"))
    other_bot = {"type": "message", "subtype": "bot_message", "bot_id": "BOTHER",
                 "text": "what is project phoenix?", "ts": "1.000001", "channel": dm,
                 "channel_type": "im"}
    assert bot.slack.send_event(other_bot).status == 200
    own = {"type": "reaction_added", "user": BOT_USER_ID, "reaction": "-1", "item_user": BOT_USER_ID,
           "item": {"type": "message", "channel": bot.general, "ts": best["ts"]},
           "event_ts": "1.000002"}
    assert bot.slack.send_event(own).status == 200
    edited = {"type": "message", "subtype": "message_changed", "channel": dm,
              "channel_type": "im", "ts": "1.000003", "message": {"text": "x"}}
    heart = {**own, "user": bot.user("bob"), "reaction": "heart"}
    # Events the bot does not act on still get a 200, so Slack does not retry them.
    assert bot.slack.send_event(edited).status == 200
    assert bot.slack.send_event(heart).status == 200
    assert bot.slack.url_verification("abc").json() == {"challenge": "abc"}
    bot.settle()
    assert bot.slack.messages(dm) == []
    assert bot.services.feedback.votes_for(payload(best)["query_id"]) == []


def test_database_down_still_acks_logs_no_token_and_asks_to_retry(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    down = Services(replace(services.settings,
                            database_url="sqlite:////nonexistent/argot/feedback.db"),
                    base_embedder=services.embedder())
    with caplog.at_level(logging.INFO), running_bot(down) as running:
        asked, [reply, *_] = running.ask("what is project phoenix?")
        assert asked.status == 200 and reply["text"] == blocks.TRY_AGAIN
    assert "feedback database" in caplog.text
    assert "xoxb-" not in caplog.text and "signing-secret" not in caplog.text


@pytest.mark.slow
def test_the_real_model_answers_jargon_from_the_demo_glossary(settings, minilm) -> None:
    from engine.knowledge.sources import collect
    from tests.conftest import DEMO_KB

    services = Services(settings, base_embedder=minilm)
    glossary = [d for d in collect([str(DEMO_KB)]).documents if d.doc_id.startswith("glossary/")]
    services.ingestor().ingest(glossary)
    with running_bot(services) as running:
        asked, [best, *_] = running.ask("what does rlq stand for?")
        assert payload(best)["doc_id"] == "glossary/rlq"
        running.slack.add_reaction(running.user("bob"), running.general, best["ts"], "-1")
        more = running.slack.wait_for_messages(running.general, asked.ts, count=2,
                                               user=BOT_USER_ID)
        assert all(payload(m) for m in more)
