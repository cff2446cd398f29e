"""Questions in words: a message that mentions the bot, or any message in a DM with it.

Slack gets its acknowledgement at once; searching and posting happen in a lazy
listener after it. A message is answered once, however often it is delivered.

The first answer leaves as soon as the search is done: the message is claimed and the
question recorded on a small pool of their own (`RECORD_THREADS`) while the search runs,
and the answers are posted only once both are in. So a redelivery still answers
nothing (its claim fails: its search is thrown away), and every posted answer has its
question on record before anyone can rate it.
Messages that carry images are left to handlers/images.py.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import AskedQuestion, FeedbackStore
from engine.search.retrieval import MAX_QUERY_CHARS
from handlers import blocks
from handlers.answers import ANSWERS_SHOWN, post_answers, worth_showing
from handlers.context import services_in
from handlers.failures import reported
from handlers.messages import acknowledge, carries_images, claim_message, from_a_person, thread_reply
from handlers.rightpage import ask_for_right_page
from handlers.searches import search_text

log = logging.getLogger("argot.handlers")

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
RECORD_THREADS = 4

_records = ThreadPoolExecutor(RECORD_THREADS, thread_name_prefix="argot-record")


def register(app: App) -> None:
    app.event("app_mention", matchers=[is_question])(ack=acknowledge, lazy=[answer_question])
    app.event("message", matchers=[is_direct_question])(ack=acknowledge, lazy=[answer_question])


def is_question(event: dict[str, Any]) -> bool:
    return from_a_person(event) and not carries_images(event)


def is_direct_question(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" and is_question(event)


def question_text(text: str, bot_user_id: str | None) -> str:
    """The question without the bot's mention; other people's mentions stay."""
    cleaned = MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else m.group(0), text or "")
    return " ".join(cleaned.split())


def answer_question(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                    client: WebClient) -> None:
    """Lazy listener: answer in the question's thread (or reply with help if empty)."""
    services = services_in(context)
    channel = event["channel"]
    thread_ts = event.get("thread_ts") or event["ts"]
    reply = thread_reply(client, event)

    with reported(reply, "answering a question"):
        feedback = services.feedback
        text = question_text(event.get("text", ""), context.bot_user_id)
        if not text:
            if claim_message(feedback, body, event):
                reply(blocks.EMPTY_QUESTION)
            return
        truncated = len(text) > MAX_QUERY_CHARS
        text = text[:MAX_QUERY_CHARS]
        question = AskedQuestion(text=text, user=event["user"], channel=channel,
                                 thread_ts=thread_ts)
        recorded = _records.submit(claim_and_record, feedback, body, event, question)
        try:
            hits, ranked_by = search_text(services, question, [], ANSWERS_SHOWN)
        except Exception:
            if recorded.result():
                raise
            return  # a redelivery: the first delivery reports the failure
        if not recorded.result():
            return
        post_answers(client, feedback, question, worth_showing(hits), ranked_by=ranked_by,
                     recorded=True)
        if not hits:
            ask_for_right_page(client, feedback, question)
        if truncated:
            reply(blocks.TRUNCATED.format(limit=MAX_QUERY_CHARS))


def claim_and_record(feedback: FeedbackStore, body: dict[str, Any], event: dict[str, Any],
                     question: AskedQuestion) -> bool:
    """Claim the message; for the first delivery, record its question too."""
    if not claim_message(feedback, body, event):
        return False
    feedback.record_question(question)
    return True
