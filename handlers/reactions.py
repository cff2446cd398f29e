"""Ratings: 👍 / 👎 on an answer message are votes; removing the reaction withdraws it.

Only reactions on messages the feedback store knows as answers count; any other
reaction, or a thumb on any other message, is acknowledged and ignored. The bot's
own reactions never arrive here (Bolt's built-in self-event middleware drops them).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import Vote
from handlers.answers import post_alternatives
from handlers.context import services_in
from handlers.failures import reported

log = logging.getLogger("argot.handlers")

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


def record_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                  client: WebClient) -> None:
    """Lazy listener for reaction_added: store the vote; a 👎 on the best match brings
    up to three more candidates into the thread."""
    services = services_in(context)
    channel, ts, user = event["item"]["channel"], event["item"]["ts"], event["user"]
    with reported(whisper(client, channel, user), "recording a rating"):
        feedback = services.feedback
        answer = feedback.answer_at(channel, ts)
        if answer is None or not feedback.claim_event(body["event_id"]):
            return
        value = vote_value(event["reaction"])
        feedback.record_vote(Vote(answer.query_id, answer.doc_id, user, value))
        log.info("vote %+d by %s on %s for %s", value, user, answer.doc_id, answer.query_id)
        if value < 0 and answer.rank == 1:
            post_alternatives(client, services, answer)


def withdraw_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                    client: WebClient) -> None:
    """Lazy listener for reaction_removed: withdraw the vote if it is still the one given."""
    services = services_in(context)
    channel, ts, user = event["item"]["channel"], event["item"]["ts"], event["user"]
    with reported(whisper(client, channel, user), "withdrawing a rating"):
        feedback = services.feedback
        answer = feedback.answer_at(channel, ts)
        if answer is None or not feedback.claim_event(body["event_id"]):
            return
        feedback.withdraw_vote(Vote(answer.query_id, answer.doc_id, user,
                                    vote_value(event["reaction"])))


def whisper(client: WebClient, channel: str, user: str):
    """Tell only the person who reacted (a reaction has no thread to reply in)."""
    return lambda text: client.chat_postEphemeral(channel=channel, user=user, text=text)
