"""Ratings: 👍 / 👎 on an answer message are votes; removing the reaction withdraws it.

Only reactions on messages the feedback store knows as answers count; any other
reaction, or a thumb on any other message, is acknowledged and ignored. The bot's
own reactions never arrive here (Bolt's built-in self-event middleware drops them).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import FeedbackStore, ShownAnswer, Vote
from handlers.answers import post_alternatives
from handlers.context import services_in
from handlers.failures import reported
from handlers.rightpage import after_vote

log = logging.getLogger("argot.handlers")

RECORD_WAIT = 5.0
THUMBS = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}


def register(app: App) -> None:
    app.event("reaction_added", matchers=[is_rating])(ack=acknowledge, lazy=[record_rating])
    app.event("reaction_removed", matchers=[is_rating])(ack=acknowledge, lazy=[withdraw_rating])


def acknowledge(ack: Any) -> None:
    ack()


def vote_value(reaction: str) -> int | None:
    """+1 / -1 for a thumb in any skin tone (`+1::skin-tone-3`), None for anything else."""
    return THUMBS.get(reaction.split("::", 1)[0])


def is_rating(event: dict[str, Any]) -> bool:
    return (vote_value(event.get("reaction", "")) is not None
            and event.get("item", {}).get("type") == "message")


def answer_rated(feedback: FeedbackStore, event: dict[str, Any], bot_user_id: str | None
                 ) -> ShownAnswer | None:
    """The answer the reaction is on, or None for any other message.

    Slack shows a message (and lets people react to it) before `chat.postMessage` has
    returned to the bot, which only then records the answer; so for the bot's own messages
    the record is waited for, up to `RECORD_WAIT` seconds."""
    channel, ts = event["item"]["channel"], event["item"]["ts"]
    answer = feedback.answer_at(channel, ts)
    if answer is not None or not bot_user_id or event.get("item_user") != bot_user_id:
        return answer
    deadline = time.monotonic() + RECORD_WAIT
    while answer is None and time.monotonic() < deadline:
        time.sleep(0.05)
        answer = feedback.answer_at(channel, ts)
    return answer


def record_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                  client: WebClient) -> None:
    """Lazy listener for reaction_added: store the vote; a 👎 on the best match brings
    up to three more candidates into the thread."""
    services = services_in(context)
    channel, user = event["item"]["channel"], event["user"]
    with reported(whisper(client, channel, user), "recording a rating"):
        feedback = services.feedback
        answer = answer_rated(feedback, event, context.bot_user_id)
        if answer is None or not feedback.claim_event(body["event_id"]):
            return
        value = vote_value(event["reaction"])
        feedback.record_vote(Vote(answer.query_id, answer.doc_id, user, value))
        log.info("vote %+d by %s on %s for %s", value, user, answer.doc_id, answer.query_id)
        if value < 0 and answer.rank == 1:
            post_alternatives(client, services, answer)
        after_vote(client, feedback, answer, user, value)


def withdraw_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                    client: WebClient) -> None:
    """Lazy listener for reaction_removed: withdraw the vote if it is still the one given."""
    services = services_in(context)
    channel, user = event["item"]["channel"], event["user"]
    with reported(whisper(client, channel, user), "withdrawing a rating"):
        feedback = services.feedback
        answer = answer_rated(feedback, event, context.bot_user_id)
        if answer is None or not feedback.claim_event(body["event_id"]):
            return
        feedback.withdraw_vote(Vote(answer.query_id, answer.doc_id, user,
                                    vote_value(event["reaction"])))


def whisper(client: WebClient, channel: str, user: str):
    """Tell only the person who reacted (a reaction has no thread to reply in)."""
    return lambda text: client.chat_postEphemeral(channel=channel, user=user, text=text)
