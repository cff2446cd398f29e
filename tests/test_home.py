"""The App Home tab, and answering a question nobody could answer from its modal.
Through the emulator, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.services import Services
from engine.feedback import AskedQuestion, Vote
from handlers.homeview import ANSWER_ACTION, DEFINITION_BLOCK, LINK_BLOCK
from tests.slackbot import TEAM_KB, Bot, load_team_kb, payload, running_bot
from tests.test_right_page import reject_everything


@pytest.fixture
def bot(services: Services) -> Iterator[Bot]:
    load_team_kb(services)
    with running_bot(services) as running:
        yield running


def home_text(bot: Bot, user: str) -> str:
    """Open the Home tab and wait for the view the bot publishes."""
    before = (bot.slack.home(user) or {}).get("hash")
    assert bot.slack.open_home(user).status == 200
    home = bot.slack.wait_for(lambda: (h := bot.slack.home(user)) and h["hash"] != before and h,
                              what="the Home tab")
    return "\n".join(block_text(b) for b in home["blocks"])


def block_text(block: dict[str, Any]) -> str:
    text = block.get("text") or {}
    parts = [text.get("text", "")] + [e.get("text", "") for e in block.get("elements", [])]
    return " ".join(p for p in parts if p)


def nobody_could_answer(bot: Bot, text: str, channel: str, user: str = "alice") -> str:
    """A question recorded with nothing found for it."""
    question = AskedQuestion(text=text, user=bot.user(user), channel=channel, thread_ts="")
    return bot.services.feedback.record_question(question)


def answer_buttons(bot: Bot, user: str) -> list[str]:
    home = bot.slack.home(user) or {"blocks": []}
    return [b["accessory"]["value"] for b in home["blocks"]
            if (b.get("accessory") or {}).get("action_id") == ANSWER_ACTION]


def open_form(bot: Bot, user: str, query_id: str) -> dict[str, Any]:
    assert bot.slack.click_view_button(user, ANSWER_ACTION, query_id).status == 200
    [modal] = bot.slack.wait_for(lambda: bot.slack.modals(user), what="the modal")
    return modal


def test_the_home_tab_for_someone_who_never_asked(bot: Bot) -> None:
    text = home_text(bot, bot.user("bob"))
    assert f"{len(TEAM_KB)} documents" in text and "Answering with model *base*" in text
    assert "You haven't asked me anything yet" in text
    assert "None right now" in text


def test_the_home_tab_shows_my_questions_and_what_nobody_could_answer(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    alice = bot.user("alice")
    text = home_text(bot, alice)
    assert "what is project phoenix?" in text and "nobody could answer yet" in text
    assert query_id in answer_buttons(bot, alice)
    home_text(bot, bot.user("bob"))
    assert query_id in answer_buttons(bot, bot.user("bob"))  # asked in a public channel


def test_a_question_from_a_private_channel_is_listed_only_for_its_asker(bot: Bot) -> None:
    alice, bob = bot.user("alice"), bot.user("bob")
    secret = bot.slack.add_channel("leadership", private=True, members=[alice])
    query_id = nobody_could_answer(bot, "what is the reorg codename?", secret)
    home_text(bot, alice)
    assert query_id in answer_buttons(bot, alice)
    text = home_text(bot, bob)
    assert query_id not in answer_buttons(bot, bob) and "reorg" not in text


def test_answering_from_the_modal_records_the_positive_and_teaches_the_answer(bot: Bot) -> None:
    query_id = nobody_could_answer(bot, "what is nightjar?", bot.general)
    bob = bot.user("bob")
    home_text(bot, bob)
    modal = open_form(bot, bob, query_id)
    assert "what is nightjar?" in block_text(modal["blocks"][0])
    delivery = bot.slack.submit_modal(bob, modal["id"], {
        DEFINITION_BLOCK: "Nightjar is the overnight batch that settles approved invoices."})
    assert delivery.status == 200 and bot.slack.modals(bob) == []
    vote = Vote(query_id, f"answers/{query_id}", bob, 1)
    bot.eventually(lambda: vote in bot.services.feedback.votes_for(query_id), what="the positive")
    bot.slack.wait_for(lambda: query_id not in answer_buttons(bot, bob), what="the new Home tab")
    _, [best, *_] = bot.ask("what is nightjar?", user="carol")
    assert payload(best)["doc_id"] == f"answers/{query_id}"


def test_answering_with_the_id_of_an_indexed_page(bot: Bot) -> None:
    query_id = nobody_could_answer(bot, "where do releases wait?", bot.general)
    bob = bot.user("bob")
    home_text(bot, bob)
    modal = open_form(bot, bob, query_id)
    bot.slack.submit_modal(bob, modal["id"], {LINK_BLOCK: "glossary/quay"})
    bot.eventually(lambda: Vote(query_id, "glossary/quay", bob, 1)
                   in bot.services.feedback.votes_for(query_id), what="the positive")


@pytest.mark.parametrize(("values", "problem"), [
    ({}, "Type the answer"),
    ({LINK_BLOCK: "https://elsewhere.example/nightjar"}, "ARGOT_INGEST_HOSTS"),
    ({LINK_BLOCK: "runbooks/no-such-page"}, "I don't know a page by that id"),
], ids=["empty", "host-not-allowed", "unknown-id"])
def test_an_answer_that_cannot_be_used_keeps_the_modal_open(bot: Bot, values, problem) -> None:
    query_id = nobody_could_answer(bot, "what is nightjar?", bot.general)
    bob = bot.user("bob")
    home_text(bot, bob)
    modal = open_form(bot, bob, query_id)
    bot.slack.submit_modal(bob, modal["id"], values)
    [still_open] = bot.slack.modals(bob)
    assert problem in " ".join(still_open["errors"].values())
    bot.settle()
    assert bot.services.feedback.votes_for(query_id) == []
