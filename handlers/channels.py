"""Where a conversation is visible: the rule behind private glossary entries."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("argot.handlers")


def is_private(client: WebClient, channel: str) -> bool:
    """True for DMs ("D…"), group DMs and private channels ("G…", or "C…" that
    conversations.info says is private). When Slack cannot say, the answer is True:
    keeping an entry too private is the safe mistake."""
    if channel.startswith(("D", "G")):
        return True
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        log.warning("conversations.info %s: %s; treating it as private", channel,
                    exc.response.get("error"))
        return True
    return bool(info.get("is_private") or info.get("is_im") or info.get("is_mpim"))
