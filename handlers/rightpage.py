"""When nothing shown is right: ask once for the right page, and take the reply as a 👍.

The bot asks "Know the right page? Reply here with its link or id." in a question's
thread once, when the asker has 👎 every document shown there (alternatives included),
or when nothing was found at all. A reply in that thread, no mention needed, whose text
names an indexed document (its id, its link, a saved thread's permalink) records a 👍 by
the reply's author for (question, document), and the bot says so. A new http(s) link is
fetched and ingested first, but only from the hosts the admin allows
(`ARGOT_INGEST_HOSTS`, none by default), through the safe fetcher (never a loopback,
private or link-local address, checked after DNS and on every redirect). Anything else
gets a short reply saying why the link or id cannot be used.

Registered before handlers/questions.py, so a reply in a thread that awaits its right
page (also in a DM, where every message is otherwise a question) is read as the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.conversations import ConversationState
from engine.errors import ArgotError
from engine.feedback import AskedQuestion, FeedbackStore, ShownAnswer, Vote
from engine.knowledge.rightpage import host_allowed, links_in, looks_like_an_id, named_document
from engine.types import Document
from handlers.blocks import escape, excerpt
from handlers.channels import is_private
from handlers.context import services_in
from handlers.failures import reported

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("argot.handlers")

ASK = "Know the right page? Reply here with its link or id."
PageFetcher = Callable[[str], Document]
"""url → the page as a Document; raises an ArgotError whose message says why not."""


def register(app: App) -> None:
    for kind in ("message", "app_mention"):
        app.event(kind, matchers=[is_reply_in_awaiting_thread])(ack=acknowledge,
                                                                 lazy=[take_reply])


def acknowledge(ack: Any) -> None:
    ack()


def is_thread_reply_by_a_person(event: dict[str, Any]) -> bool:
    return (not event.get("bot_id") and event.get("subtype") in (None, "thread_broadcast")
            and bool(event.get("user")) and bool(event.get("thread_ts"))
            and event.get("thread_ts") != event.get("ts"))


def is_reply_in_awaiting_thread(event: dict[str, Any], context: BoltContext) -> bool:
    if not is_thread_reply_by_a_person(event):
        return False
    state = ConversationState.of(services_in(context).feedback)
    return state.ask_in(event["channel"], event["thread_ts"]) is not None


# -- asking ----------------------------------------------------------------------------------

def ask_for_right_page(client: WebClient, feedback: FeedbackStore, question: AskedQuestion
                       ) -> bool:
    """Ask in the question's thread, once per question; False when already asked (or the
    question has no thread to ask in, as `/argot QUESTION` has not)."""
    if not question.thread_ts or not question.channel:
        return False
    state = ConversationState.of(feedback)
    if not state.open_ask(query_id=question.query_id, channel=question.channel,
                          thread_ts=question.thread_ts):
        return False
    client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts, text=ASK)
    return True


def everything_rejected(feedback: FeedbackStore, question: AskedQuestion) -> bool:
    """True when the asker has 👎 every document shown in the question's thread."""
    shown = [s for s in feedback.shown_for(question.query_id) if s.message_ts]
    if not shown:
        return False
    rejected = {v.doc_id for v in feedback.votes_for(question.query_id)
                if v.user == question.user and v.value < 0}
    return all(s.doc_id in rejected for s in shown)


def after_vote(client: WebClient, feedback: FeedbackStore, answer: ShownAnswer, user: str,
               value: int) -> None:
    """Called once a vote is stored (and any alternatives posted): the asker's last 👎."""
    if value >= 0:
        return
    question = feedback.question(answer.query_id)
    if question is None or question.user != user or question.modality != "text":
        return
    if everything_rejected(feedback, question):
        ask_for_right_page(client, feedback, question)


# -- taking the reply -----------------------------------------------------------------------

def take_reply(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
               client: WebClient) -> None:
    """Lazy listener: a reply in a thread that awaits its right page."""
    services = services_in(context)
    channel, thread_ts, user = event["channel"], event["thread_ts"], event["user"]

    def reply(text: str) -> None:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    with reported(reply, "taking a right-page reply"):
        feedback = services.feedback
        text = event.get("text", "")
        if not names_a_page(services, text, channel):
            if event.get("type") == "app_mention" or event.get("channel_type") == "im":
                from handlers.questions import answer_question  # it imports this module

                answer_question(body, event, context, client)  # a question, not a page
            return
        if not feedback.claim_event(f"message:{channel}:{event['ts']}"):
            return
        query_id = ConversationState.of(feedback).ask_in(channel, thread_ts)
        question = feedback.question(query_id) if query_id else None
        if question is None:
            return
        outcome = resolve_reply(services, client, text, channel)
        if outcome is None:
            return
        if isinstance(outcome, str):
            reply(outcome)
            return
        doc_id, title = outcome
        feedback.record_vote(Vote(question.query_id, doc_id, user, 1))
        ConversationState.of(feedback).answered(question.query_id, user, doc_id)
        log.info("right page %s for %s from %s", doc_id, question.query_id, user)
        reply(recorded(user, title, question.text))


def names_a_page(services: Services, text: str, channel: str) -> bool:
    """Whether the reply tries to name a page (an indexed one, a link, an id-like word);
    small talk and questions do not."""
    return (bool(links_in(text)) or looks_like_an_id(text)
            or named_document(services.index(), text, channel) is not None)


def resolve_reply(services: Services, client: WebClient, text: str, channel: str
                  ) -> tuple[str, str] | str | None:
    """(doc id, title) of the page the text names, a sentence saying why it cannot be
    used, or None when the text does not try to name a page ("thanks!")."""
    index = services.index()
    found = named_document(index, text, channel)
    if found:
        return found.doc_id, found.title
    links = links_in(text)
    if links:
        return ingest_link(services, client, links[0], channel)
    if looks_like_an_id(text):
        return unknown_id(text)
    return None


def ingest_link(services: Services, client: WebClient, url: str, channel: str
                ) -> tuple[str, str] | str:
    """Fetch and index a new page from an allowed host; a refusal sentence otherwise."""
    allowed = tuple(getattr(services.settings, "ingest_hosts", ()) or ())
    if not host_allowed(url, allowed):
        return cannot_use(url, "its site is not one Argot may read (an admin can allow it "
                          "with ARGOT_INGEST_HOSTS)")
    try:
        page = page_fetcher(services)(url)
    except ArgotError as exc:
        log.info("right-page link %s refused: %s", url, exc)
        return cannot_use(url, str(exc))
    if is_private(client, channel):
        page = replace(page, channels=(channel,))
    services.ingestor().ingest([page])
    return page.doc_id, page.title or url


def page_fetcher(services: Services) -> PageFetcher:
    """The fetcher for links people give: the services' own (tests give one with a
    test-only policy for a local server), else the safe fetcher with the allowed hosts."""
    own = getattr(services, "page_fetcher", None)
    if own is not None:
        return own
    from engine.knowledge import web  # the safe fetcher: DNS and redirect checks

    hosts = tuple(services.settings.ingest_hosts)
    return lambda url: web.fetch_page(url, allowed_hosts=hosts)


# -- what the bot says ------------------------------------------------------------------------

def recorded(user: str, title: str, question: str) -> str:
    return (f"Thanks <@{user}>! I noted *{escape(title)}* as the right page for "
            f"“{escape(excerpt(question, 120))}”; I'll learn from it.")


def cannot_use(url: str, reason: str) -> str:
    return (f"Sorry, I can't use that link ({escape(url[:200])}): {escape(reason.rstrip('.'))}. "
            "Reply with the id or link of a page I already know instead.")


def unknown_id(text: str) -> str:
    return (f"I don't know a page by that id (“{escape(excerpt(text, 80))}”). Reply with the "
            "id of an indexed page, e.g. `runbooks/deploy-rollback`, or its link.")
