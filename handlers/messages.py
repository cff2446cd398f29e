"""What the two message surfaces share: text questions (handlers/questions.py) and
pictures as questions (handlers/images.py) both answer messages from people, told apart
by whether the message carries an image, and both answer a message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from engine.feedback import FeedbackStore

log = logging.getLogger("argot.handlers")

TEXT_SUBTYPES = (None, "file_share", "thread_broadcast")


def acknowledge(ack: Any) -> None:
    ack()


def from_a_person(event: dict[str, Any]) -> bool:
    return not event.get("bot_id") and event.get("subtype") in TEXT_SUBTYPES and "user" in event


def carries_images(event: dict[str, Any]) -> bool:
    return any(str(f.get("mimetype", "")).startswith("image/") for f in event.get("files") or ())


def thread_reply(client: Any, event: dict[str, Any]) -> Callable[[str], None]:
    """A plain-text reply in the message's thread (the message starts one if it has none)."""
    channel, thread_ts = event["channel"], event.get("thread_ts") or event["ts"]

    def reply(text: str) -> None:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    return reply


def claim_message(feedback: FeedbackStore, body: dict[str, Any], event: dict[str, Any]) -> bool:
    """True for the first event about this message, False for any later one.

    Claimed by message, not by event id: a retry has the same message, and so would an
    app_mention and a message.im about one message, if Slack ever sent both."""
    if feedback.claim_event(f"message:{event['channel']}:{event['ts']}"):
        return True
    log.info("message %s in %s was already answered; ignoring event %s", event["ts"],
             event["channel"], body.get("event_id"))
    return False
