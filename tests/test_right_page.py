"""When nothing shown is right: the bot asks once for the right page, and a reply in the
thread (no mention) naming a page records a 👍 by its author. Through the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from bot.playground.emulator import BOT_USER_ID
from bot.services import Services
from engine.feedback import Vote
from handlers.rightpage import ASK
from tests.slackbot import Bot, load_team_kb, payload, running_bot


@pytest.fixture
def bot(services: Services) -> Iterator[Bot]:
    load_team_kb(services)
    with running_bot(services) as running:
        yield running


def bot_says(bot: Bot, channel: str, thread_ts: str, fragment: str) -> list[dict[str, Any]]:
    """Wait for a bot message in the thread that contains `fragment`."""
    def found() -> list[dict[str, Any]]:
        return [m for m in bot.slack.messages(channel, thread_ts)
                if m["user"] == BOT_USER_ID and fragment in (m.get("text") or "")]
    return bot.slack.wait_for(found, what=f"the bot to say {fragment!r}")


def wait_for_more_candidates(bot: Bot, channel: str, thread: str, shown: int) -> None:
    """Alternatives (or "I have no other candidates") after a 👎 on the best match."""
    def more() -> bool:
        return len([m for m in bot.slack.messages(channel, thread)
                    if payload(m) or m["text"].startswith("I have no")]) > shown
    bot.slack.wait_for(more, what="the alternatives")


def reject_everything(bot: Bot, asked: Any, user: str = "alice") -> str:
    """The asker 👎s the best match, then every alternative and every other answer shown;
    returns the question's id once the bot has asked for the right page."""
    channel, thread = bot.general, asked.ts
    answers = bot.slack.wait_for(lambda: [m for m in bot.slack.messages(channel, thread)
                                          if payload(m)], what="the answers")
    query_id = payload(answers[0])["query_id"]
    rated: set[str] = set()
    while True:
        shown = [m for m in bot.slack.messages(channel, thread) if payload(m)]
        todo = [m for m in shown if m["ts"] not in rated]
        if not todo:
            break
        for message in todo:
            bot.slack.add_reaction(bot.user(user), channel, message["ts"], "-1")
            rated.add(message["ts"])
            bot.eventually(lambda m=message: any(
                v.doc_id == payload(m)["doc_id"] and v.value == -1
                for v in bot.services.feedback.votes_for(query_id)), what="the 👎")
        if payload(todo[0])["rank"] == 1:  # alternatives follow a 👎 on the best match
            wait_for_more_candidates(bot, channel, thread, len(shown))
    bot_says(bot, channel, thread, ASK)
    return query_id


def test_the_bot_asks_once_when_every_candidate_got_a_thumbs_down(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    reject_everything(bot, asked)
    bot.settle()
    asks = [m for m in bot.slack.messages(bot.general, asked.ts) if m["text"] == ASK]
    assert len(asks) == 1


def test_someone_elses_thumbs_down_does_not_ask(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    answers = [m for m in bot.slack.messages(bot.general, asked.ts) if payload(m)]
    for message in answers:
        bot.slack.add_reaction(bot.user("bob"), bot.general, message["ts"], "-1")
    bot.settle()
    assert all(m["text"] != ASK for m in bot.slack.messages(bot.general, asked.ts))


def test_a_reply_with_a_known_id_records_a_thumbs_up_by_its_author(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    bob = bot.user("bob")
    reply = bot.slack.post_user_message(bot.general, bob, "it's `glossary/quay` I think",
                                        thread_ts=asked.ts)
    assert reply.status == 200
    [thanks] = bot_says(bot, bot.general, asked.ts, "Thanks")
    assert "Quay" in thanks["text"] and f"<@{bob}>" in thanks["text"]
    assert Vote(query_id, "glossary/quay", bob, 1) in bot.services.feedback.votes_for(query_id)


def test_a_reply_with_the_link_of_an_indexed_page_counts(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    bot.slack.post_user_message(bot.general, bot.user("carol"),
                                "here: <https://wiki.example/phoenix|Phoenix>", thread_ts=asked.ts)
    [thanks] = bot_says(bot, bot.general, asked.ts, "Thanks")
    assert "Project Phoenix" in thanks["text"]
    assert any(v.doc_id == "services/phoenix" and v.value == 1
               for v in bot.services.feedback.votes_for(query_id))


def test_an_unknown_id_gets_a_clear_reply_and_no_vote(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    before = bot.services.feedback.votes_for(query_id)
    bot.slack.post_user_message(bot.general, bot.user("bob"), "runbooks/no-such-page",
                                thread_ts=asked.ts)
    [said] = bot_says(bot, bot.general, asked.ts, "I don't know a page")
    assert "runbooks/no-such-page" in said["text"]
    assert bot.services.feedback.votes_for(query_id) == before


def test_small_talk_in_the_thread_is_left_alone(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    reject_everything(bot, asked)
    count = len(bot.slack.messages(bot.general, asked.ts))
    bot.slack.post_user_message(bot.general, bot.user("bob"), "no idea, sorry", thread_ts=asked.ts)
    bot.settle()
    assert len(bot.slack.messages(bot.general, asked.ts)) == count + 1  # only bob's message


def test_a_link_to_a_host_that_is_not_allowed_is_refused_without_fetching(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    fetched: list[str] = []
    bot.services.page_fetcher = lambda url: fetched.append(url)  # type: ignore[attr-defined]
    bot.slack.post_user_message(bot.general, bot.user("bob"), "<https://elsewhere.example/x>",
                                thread_ts=asked.ts)
    [said] = bot_says(bot, bot.general, asked.ts, "can't use that link")
    assert "ARGOT_INGEST_HOSTS" in said["text"] and fetched == []
    assert all(v.value < 0 for v in bot.services.feedback.votes_for(query_id))


def test_a_dm_thread_reply_is_the_answer_not_a_new_question(services: Services) -> None:
    load_team_kb(services)
    with running_bot(services) as bot:
        dm = bot.slack.dm(bot.user("alice"))
        asked, _ = bot.ask("what is project phoenix?", channel=dm, mention=False)
        answers = [m for m in bot.slack.messages(dm, asked.ts) if payload(m)]
        query_id = payload(answers[0])["query_id"]
        from handlers.rightpage import ask_for_right_page

        ask_for_right_page(_client(bot), services.feedback, services.feedback.question(query_id))
        bot_says(bot, dm, asked.ts, ASK)
        bot.slack.post_user_message(dm, bot.user("alice"), "glossary/slipway", thread_ts=asked.ts)
        bot_says(bot, dm, asked.ts, "Slipway")
        bot.settle()
        questions = {row["question"] for row in services.feedback.export()}
        assert "glossary/slipway" not in questions


def _client(bot: Bot) -> Any:
    from slack_sdk import WebClient

    return WebClient(token=bot.slack.bot_token, base_url=bot.slack.api_url)


def test_settings_read_the_allowed_hosts(services: Services) -> None:
    from bot.settings import Settings

    settings = Settings.from_mapping({"ARGOT_HOME": str(services.settings.home),
                                      "ARGOT_INGEST_HOSTS": "Wiki.Example.com, docs.example.com"})
    assert settings.ingest_hosts == ("wiki.example.com", "docs.example.com")
    assert replace(settings, ingest_hosts=()).ingest_hosts == ()
    assert Settings.from_mapping({"ARGOT_HOME": str(services.settings.home)}).ingest_hosts == ()


# -- new links: fetched through the safe fetcher, only from allowed hosts -------------------

class Pages:
    """A local web server: /nightjar is a page, /sneaky redirects to a loopback name."""

    def __init__(self) -> None:
        import http.server
        import threading

        pages = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                pages.requests.append(self.path)
                if self.path == "/sneaky":
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{pages.port}/secret")
                    self.end_headers()
                    return
                body = (b"<html><head><title>Nightjar</title></head><body><h1>Nightjar</h1>"
                        b"<p>Nightjar is the night-time batch that settles invoices.</p></body></html>")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.requests: list[str] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pages() -> Iterator[Pages]:
    server = Pages()
    yield server
    server.close()


def allow(bot: Bot, *hosts: str, trusted: tuple[str, ...] = (), any_address: bool = False
          ) -> None:
    """ARGOT_INGEST_HOSTS=hosts; the fetcher's policy: those hosts, with `trusted` exempt
    from the public-address rule, or every address allowed (`any_address`: the fetcher's
    test-only switch, so a server on 127.0.0.1 can stand in for a wiki)."""
    from engine.knowledge.web import HostPolicy, fetch_page

    bot.services.settings = replace(bot.services.settings, ingest_hosts=hosts)
    policy = HostPolicy.only(hosts, trusted=trusted, any_address=any_address)
    bot.services.page_fetcher = lambda url: fetch_page(url, policy=policy)  # type: ignore[attr-defined]


def test_an_allowed_new_link_is_ingested_then_counted(bot: Bot, pages: Pages) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    allow(bot, "127.0.0.1", any_address=True)
    url = f"http://127.0.0.1:{pages.port}/nightjar"
    bot.slack.post_user_message(bot.general, bot.user("bob"), f"<{url}>", thread_ts=asked.ts)
    [thanks] = bot_says(bot, bot.general, asked.ts, "Thanks")
    assert "Nightjar" in thanks["text"] and pages.requests == ["/nightjar"]
    assert Vote(query_id, url, bot.user("bob"), 1) in bot.services.feedback.votes_for(query_id)
    _, replies = bot.ask("what settles invoices at night?")
    assert url in {payload(m).get("doc_id") for m in replies}


def test_a_link_to_an_internal_address_is_refused_even_when_its_host_is_allowed(
        bot: Bot, pages: Pages) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    allow(bot, "localhost")
    bot.slack.post_user_message(bot.general, bot.user("bob"),
                                f"<http://localhost:{pages.port}/nightjar>", thread_ts=asked.ts)
    [said] = bot_says(bot, bot.general, asked.ts, "can't use that link")
    assert pages.requests == []
    assert all(v.value < 0 for v in bot.services.feedback.votes_for(query_id))
    assert "localhost" in said["text"]


def test_a_redirect_to_an_internal_address_is_refused(bot: Bot, pages: Pages) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    query_id = reject_everything(bot, asked)
    allow(bot, "127.0.0.1", "localhost", trusted=("127.0.0.1",))
    bot.slack.post_user_message(bot.general, bot.user("bob"),
                                f"<http://127.0.0.1:{pages.port}/sneaky>", thread_ts=asked.ts)
    bot_says(bot, bot.general, asked.ts, "can't use that link")
    assert pages.requests == ["/sneaky"]  # the redirect's target was never asked for
    assert all(v.value < 0 for v in bot.services.feedback.votes_for(query_id))
    assert not bot.services.index().chunks_of(f"http://127.0.0.1:{pages.port}/sneaky")


def test_a_question_in_the_thread_is_still_answered_as_a_question(bot: Bot) -> None:
    asked, _ = bot.ask("what is project phoenix?")
    reject_everything(bot, asked)
    follow_up = bot.slack.post_user_message(bot.general, bot.user("alice"),
                                            f"<@{BOT_USER_ID}> who owns the golden ticket queue?",
                                            thread_ts=asked.ts)
    assert follow_up.status == 200
    bot.slack.wait_for(lambda: any(payload(m).get("doc_id") == "teams/gtq"
                                   for m in bot.slack.messages(bot.general, asked.ts)),
                       what="the follow-up answered")
