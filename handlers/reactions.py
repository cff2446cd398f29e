"""Ratings: 👍 / 👎 on an answer message are votes; removing the reaction withdraws it.

Only reactions on messages the feedback store knows as answers count; any other
reaction, or a thumb on any other message, is acknowledged and ignored. The bot's
own reactions never arrive here (Bolt's built-in self-event middleware drops them).

Slack shows a message (and lets people react to it) before `chat.postMessage` has
returned to the bot, which only then records the answer. A thumb on a bot message the
store does not know yet is therefore looked at once more: if the message carries
`argot_answer` metadata, its record is waited for (up to `RECORD_WAIT` seconds) on a
small pool of its own (`WAIT_THREADS`), never on the listener threads that answer
questions, and at most `WAITS_PER_PERSON` such waits run for one person at a time, so
a storm of reactions on the bot's other messages costs one lookup each and delays no
one else's answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
WAIT_THREADS = 4
WAITS_PER_PERSON = 2
THUMBS = {"+1": 1, "thumbsup": 1, "-1": -1, "thumbsdown": -1}
ANSWER_EVENT = "argot_answer"

_waits = ThreadPoolExecutor(WAIT_THREADS, thread_name_prefix="argot-vote-wait")
_waiting: Counter[str] = Counter()
_waiting_lock = threading.Lock()


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


def answer_rated(feedback: FeedbackStore, event: dict[str, Any], bot_user_id: str | None,
                 client: WebClient, then: Callable[[ShownAnswer], None],
                 failed: Callable[[str], Any]) -> Future | None:
    """Call `then` with the answer the reaction is on; nothing for any other message.

    A known answer is handled at once (None is returned); a bot message not known yet is
    handed to the wait pool (its Future is returned), see the module docstring."""
    channel, ts = event["item"]["channel"], event["item"]["ts"]
    answer = feedback.answer_at(channel, ts)
    if answer is not None:
        then(answer)
        return None
    if not bot_user_id or event.get("item_user") != bot_user_id:
        return None
    user = event.get("user", "")
    with _waiting_lock:
        if _waiting[user] >= WAITS_PER_PERSON:
            log.info("%s has %d reactions waiting already; this one is ignored", user,
                     _waiting[user])
            return None
        _waiting[user] += 1
    return _waits.submit(_wait_for_record, feedback, client, channel, ts, user, then, failed)


def _wait_for_record(feedback: FeedbackStore, client: WebClient, channel: str, ts: str,
                     user: str, then: Callable[[ShownAnswer], None],
                     failed: Callable[[str], Any]) -> None:
    try:
        with reported(failed, "recording a rating"):
            if carries_answer_metadata(client, channel, ts) is False:
                return
            deadline = time.monotonic() + RECORD_WAIT
            answer = feedback.answer_at(channel, ts)
            while answer is None and time.monotonic() < deadline:
                time.sleep(0.05)
                answer = feedback.answer_at(channel, ts)
            if answer is not None:
                then(answer)
    finally:
        with _waiting_lock:
            _waiting[user] -= 1
            if _waiting[user] <= 0:
                del _waiting[user]


def carries_answer_metadata(client: WebClient, channel: str, ts: str) -> bool | None:
    """Whether the message at (channel, ts) is one of the bot's answers, by its metadata;
    None when Slack would not say (no history scope there: the wait is still bounded)."""
    try:
        found = client.conversations_replies(channel=channel, ts=ts, oldest=ts, latest=ts,
                                             inclusive=True, limit=2, include_all_metadata=True)
    except Exception as exc:  # noqa: BLE001 - slack_sdk raises several kinds
        log.info("could not read the reacted message %s in %s: %s", ts, channel, exc)
        return None
    for message in found.get("messages") or []:
        if message.get("ts") == ts:
            return (message.get("metadata") or {}).get("event_type") == ANSWER_EVENT
    return False


def record_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                  client: WebClient) -> Future | None:
    """Lazy listener for reaction_added: store the vote; a 👎 on the best match brings
    up to three more candidates into the thread. Returns the wait's Future when the
    answer's record is being waited for (tests wait on it)."""
    services = services_in(context)
    channel, user = event["item"]["channel"], event["user"]
    failed = whisper(client, channel, user)

    def vote(answer: ShownAnswer) -> None:
        feedback = services.feedback
        if not feedback.claim_event(body["event_id"]):
            return
        value = vote_value(event["reaction"])
        feedback.record_vote(Vote(answer.query_id, answer.doc_id, user, value))
        log.info("vote %+d by %s on %s for %s", value, user, answer.doc_id, answer.query_id)
        if value < 0 and answer.rank == 1:
            post_alternatives(client, services, answer)
        after_vote(client, feedback, answer, user, value)

    with reported(failed, "recording a rating"):
        return answer_rated(services.feedback, event, context.bot_user_id, client, vote, failed)
    return None


def withdraw_rating(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                    client: WebClient) -> Future | None:
    """Lazy listener for reaction_removed: withdraw the vote if it is still the one given."""
    services = services_in(context)
    channel, user = event["item"]["channel"], event["user"]
    failed = whisper(client, channel, user)

    def withdraw(answer: ShownAnswer) -> None:
        feedback = services.feedback
        if feedback.claim_event(body["event_id"]):
            feedback.withdraw_vote(Vote(answer.query_id, answer.doc_id, user,
                                        vote_value(event["reaction"])))

    with reported(failed, "withdrawing a rating"):
        return answer_rated(services.feedback, event, context.bot_user_id, client, withdraw, failed)
    return None


def whisper(client: WebClient, channel: str, user: str):
    """Tell only the person who reacted (a reaction has no thread to reply in)."""
    return lambda text: client.chat_postEphemeral(channel=channel, user=user, text=text)
