""""Save to Argot": a message and its thread become one document, answered from at once.
Through the emulator, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.playground.emulator import BOT_USER_ID
from bot.services import Services
from engine.knowledge.threads import MAX_THREAD_CHARS
from handlers.shortcuts import BOT_MESSAGE, CANNOT_READ
from tests.slackbot import Bot, load_team_kb, payload, running_bot

NIGHTJAR = "Nightjar is our name for the overnight invoice settlement batch."
REPLIES = ["It runs at 02:00 and settles every invoice that was approved that day.",
           "If Nightjar fails, the payments on-call reruns it from the runbook."]


@pytest.fixture
def bot(services: Services) -> Iterator[Bot]:
    load_team_kb(services)
    with running_bot(services) as running:
        yield running


def thread(bot: Bot, channel: str, root: str = NIGHTJAR, replies: list[str] = REPLIES) -> str:
    """A person's message with replies from others; no event reaches the bot."""
    started = bot.slack.post_user_message(channel, bot.user("alice"), root)
    for text in replies:
        bot.slack.post_user_message(channel, bot.user("bob"), text, thread_ts=started.ts)
    return started.ts


def save(bot: Bot, channel: str, ts: str, user: str = "carol") -> dict[str, Any]:
    """Use the shortcut and wait for the ephemeral note the saver gets."""
    saver = bot.user(user)
    before = len(bot.slack.ephemerals(channel, saver))
    delivery = bot.slack.message_shortcut(saver, channel, ts, "argot_save")
    assert delivery.status == 200, delivery.body
    notes = bot.slack.wait_for(lambda: bot.slack.ephemerals(channel, saver)[before:],
                               what="the saver's note")
    return notes[0]


def saved_documents(bot: Bot) -> set[str]:
    return {doc_id for doc_id in bot.services.index().document_ids() if doc_id.startswith("slack/")}


def test_a_saved_thread_answers_a_question_elsewhere_with_its_permalink(bot: Bot) -> None:
    root = thread(bot, bot.general)
    note = save(bot, bot.general, root)
    carol = bot.user("carol")
    assert note["text"].startswith("Saved *Nightjar is our name")
    assert f"<@{bot.user('alice')}>" in note["text"]
    assert "Everyone can find it" in note["text"]
    random = bot.slack.add_channel("random", members=[carol])
    _, [best, *_] = bot.ask("what is nightjar?", channel=random, user="carol")
    assert payload(best)["doc_id"] == f"slack/{bot.general}/{root}"
    link = bot.slack.calls_to("chat.getPermalink")[-1]
    assert link.params["message_ts"] == root
    permalink = f"{bot.slack.base_url}archives/{bot.general}/p{root.replace('.', '')}"
    assert permalink in best["blocks"][0]["text"]["text"]
    text = bot.services.index().chunks_of(f"slack/{bot.general}/{root}")[0][0].text
    assert "02:00" in text and "runbook" in text


def test_saved_in_a_private_channel_it_is_answered_only_there(bot: Bot) -> None:
    alice, bob = bot.user("alice"), bot.user("bob")
    secret = bot.slack.add_channel("payments-core", private=True, members=[alice, bob])
    root = thread(bot, secret)
    note = save(bot, secret, root, user="bob")
    assert "Only people in this conversation" in note["text"]
    _, [best, *_] = bot.ask("what is nightjar?", channel=secret, user="bob")
    assert payload(best)["doc_id"] == f"slack/{secret}/{root}"
    _, elsewhere = bot.ask("what is nightjar?", channel=bot.general, user="alice")
    bot.settle()
    shown = {payload(m).get("doc_id") for m in bot.slack.messages(bot.general, elsewhere[0]["thread_ts"])}
    assert f"slack/{secret}/{root}" not in shown


def test_saving_again_updates_the_one_document(bot: Bot) -> None:
    root = thread(bot, bot.general)
    save(bot, bot.general, root)
    bot.slack.post_user_message(bot.general, bot.user("dave"), "Nightjar also sends the daily "
                                "settlement report to finance.", thread_ts=root)
    reply_ts = bot.slack.messages(bot.general, root)[-1]["ts"]
    note = save(bot, bot.general, reply_ts, user="dave")  # saved from a reply: the same thread
    assert note["text"].startswith("Updated")
    assert saved_documents(bot) == {f"slack/{bot.general}/{root}"}
    chunks = bot.services.index().chunks_of(f"slack/{bot.general}/{root}")
    assert any("finance" in chunk.text for chunk, _ in chunks)


def test_a_long_thread_is_read_page_by_page(bot: Bot) -> None:
    replies = [f"Nightjar note {n}: settles batch {n}." for n in range(230)]
    root = thread(bot, bot.general, replies=replies)
    save(bot, bot.general, root)
    assert len(bot.slack.calls_to("conversations.replies")) >= 2
    chunks = bot.services.index().chunks_of(f"slack/{bot.general}/{root}")
    assert any("batch 229" in chunk.text for chunk, _ in chunks)


def test_a_bots_message_is_refused(bot: Bot) -> None:
    mine = bot.slack.post_bot_message(bot.general, "Best match: Project Phoenix")
    assert save(bot, bot.general, mine["ts"])["text"] == BOT_MESSAGE
    assert saved_documents(bot) == set()


def test_an_empty_message_is_refused(bot: Bot) -> None:
    empty = bot.slack.post_user_message(bot.general, bot.user("alice"), "   ")
    note = save(bot, bot.general, empty.ts)
    assert note["text"].startswith("There is nothing to save")
    assert saved_documents(bot) == set()


def test_a_thread_over_the_size_cap_is_refused_whole(bot: Bot) -> None:
    chunk = "Nightjar " * 1000
    root = thread(bot, bot.general, replies=[chunk] * (MAX_THREAD_CHARS // len(chunk) + 1))
    note = save(bot, bot.general, root)
    assert "over the 40,000" in note["text"]
    assert saved_documents(bot) == set()


def test_a_conversation_the_bot_cannot_read_is_refused(bot: Bot) -> None:
    alice, bob = bot.user("alice"), bot.user("bob")
    closed = bot.slack.add_channel("leadership", private=True, members=[alice, bob])
    root = thread(bot, closed)
    bot.slack.remove_bot_from(closed)
    assert save(bot, closed, root, user="bob")["text"] == CANNOT_READ
    assert saved_documents(bot) == set()


def test_a_rate_limited_read_is_waited_out(bot: Bot) -> None:
    root = thread(bot, bot.general)
    bot.slack.fail_next("conversations.replies", 429, retry_after=1, times=5)
    note = save(bot, bot.general, root)
    assert note["text"].startswith("Saved")
    assert len(bot.slack.calls_to("conversations.replies")) == 6
    assert all(m["user"] != BOT_USER_ID or "Saved" not in m["text"]
               for m in bot.slack.messages(bot.general))  # the note stayed ephemeral


@pytest.mark.slow
def test_two_clicks_with_the_real_model(settings, minilm) -> None:  # noqa: ANN001 - fixtures
    """With the bundled MiniLM: the saved thread is the best match for a question in other
    words than the thread's, asked in another channel."""
    services = Services(settings, base_embedder=minilm)
    load_team_kb(services)
    with running_bot(services) as bot:
        root = thread(bot, bot.general)
        save(bot, bot.general, root)
        elsewhere = bot.slack.add_channel("newcomers", members=[bot.user("erin")])
        _, [best, *_] = bot.ask("what does Nightjar mean here?", channel=elsewhere, user="erin")
        assert payload(best)["doc_id"] == f"slack/{bot.general}/{root}"
        assert payload(best)["rank"] == 1
