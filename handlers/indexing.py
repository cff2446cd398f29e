"""`/argot index #channel`: read a channel the bot is in into the index.

The command is acknowledged at once; the channel is read in a lazy listener (a long
channel takes minutes at Slack's rate limits) and the person is told the outcome
ephemerally. What comes from a private channel is shown only there. The channel is then
kept up to date by the scheduled refresh (jobs/channels.py).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.channelindex import channel_ref, find_channel, index_channel
from handlers.context import services_in
from handlers.failures import reported

log = logging.getLogger("argot.handlers")

INDEX_USAGE = "Usage: `/argot index #channel` (a channel I am in), e.g. `/argot index #payments`."


def index_from_command(command: dict[str, Any], target: str, context: BoltContext,
                       client: WebClient, respond: Any) -> None:
    """Lazy part of `/argot index TARGET`."""
    services = services_in(context)

    def tell(text: str) -> None:
        respond(text=text, response_type="ephemeral")

    with reported(tell, "indexing a channel"):
        channel = channel_ref(target) or find_channel(client, target)
        if not channel:
            tell(f"I can't find a channel called `{target[:80]}` that I am in. {INDEX_USAGE}")
            return
        tell(f"Reading <#{channel}> now; I'll tell you here when it is done.")
        try:
            run = index_channel(client, services, channel, added_by=command["user_id"],
                                bot_user_id=context.bot_user_id or "")
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in ("not_in_channel", "channel_not_found"):
                raise
            tell(f"I can't read <#{channel}>: invite me first (`/invite @Argot`), then run "
                 "`/argot index` again.")
            return
        tell(indexed(run.channel, len(run.added), len(run.updated), run.threads, run.skipped,
                     len(run.errors)))


def indexed(channel: str, added: int, updated: int, threads: int, skipped: int, refused: int
            ) -> str:
    text = (f"Indexed <#{channel}>: {added} new and {updated} updated documents from "
            f"{threads} threads ({skipped} messages skipped: bots, joins, small talk).")
    if refused:
        text += f" {refused} threads were too long to index."
    return text + " I'll keep it up to date."
