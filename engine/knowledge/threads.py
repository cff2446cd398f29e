"""A Slack thread as one document: what "Save to Argot" and channel indexing store.

Messages arrive as the Web API returns them (plain dicts: `ts`, `user`, `text`,
`bot_id`, `subtype`); nothing here talks to Slack. Bots' messages and channel
housekeeping (joins, leaves, topic changes) are not conversation and are dropped. The
document's id is stable per thread (`slack/CHANNEL/ROOT_TS`), so saving or indexing the
same thread again replaces it instead of adding a copy; its title is the first line of
the thread's first message, its source and url the thread's permalink. A thread from a
private channel or a DM is visible only there.

Example:
    >>> doc = thread_document([{"ts": "1.0", "user": "U1", "text": "Nightjar is our CDN"}],
    ...                       channel="C1", permalink="https://x.slack.com/archives/C1/p10",
    ...                       private=False, saved_by="U2")
    >>> doc.doc_id, doc.title, doc.channels
    ('slack/C1/1.0', 'Nightjar is our CDN', None)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from engine.errors import ArgotError
from engine.types import Document

ID_PREFIX = "slack"
MAX_THREAD_CHARS = 40_000
"""A thread longer than this (about ten pages) is refused rather than cut: half a
thread would answer questions with half the story."""
MAX_TITLE_CHARS = 120
HOUSEKEEPING = {"channel_join", "channel_leave", "group_join", "group_leave", "channel_topic",
                "channel_purpose", "channel_name", "channel_archive", "channel_unarchive",
                "group_topic", "group_purpose", "group_name", "pinned_item", "unpinned_item",
                "bot_message", "bot_add", "bot_remove", "reminder_add", "tombstone",
                "joiner_notification_for_inviter", "message_deleted", "message_changed"}
LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]*))?>")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
SPECIAL = re.compile(r"<!([a-z]+)(?:\|([^>]*))?>")


class ThreadError(ArgotError):
    """A thread that cannot be stored as given; the message says why and what to do."""


def is_conversation(message: dict[str, Any]) -> bool:
    """A person's message with words in it: not a bot's, not a join/leave/topic notice."""
    if message.get("bot_id") or message.get("subtype") in HOUSEKEEPING:
        return False
    return bool(message.get("user")) and bool(plain_text(message.get("text", "")))


def plain_text(text: str) -> str:
    """Slack's markup as a person reads it: links by their label, mentions as @U…."""
    text = LINK.sub(lambda m: m.group(2) or m.group(1), text or "")
    text = MENTION.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = SPECIAL.sub(lambda m: f"@{m.group(2) or m.group(1)}", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def thread_id(channel: str, root_ts: str) -> str:
    return f"{ID_PREFIX}/{channel}/{root_ts}"


def title_of(text: str) -> str:
    first = next((line.strip(" #*_>") for line in text.splitlines() if line.strip(" #*_>")), "")
    if len(first) <= MAX_TITLE_CHARS:
        return first
    return first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def thread_document(messages: Iterable[dict[str, Any]], *, channel: str, permalink: str,
                    private: bool, saved_by: str = "", max_chars: int = MAX_THREAD_CHARS
                    ) -> Document:
    """The thread's conversation as one document.

    Args:
        messages: the thread, root first (as `conversations.replies` returns it); bots'
            messages and housekeeping notices are dropped here.
        channel: where the thread is.
        permalink: the root message's permalink: the document's source and url.
        private: True for a private channel, a group DM or a DM: visible only there.
        saved_by: who saved it (a Slack user id), credited beside the author; "" when
            a channel ingest read it.
        max_chars: the size cap.

    Raises:
        ThreadError: nothing a person wrote is left, or the thread is over the cap.
    """
    kept = [m for m in messages if is_conversation(m)]
    if not kept:
        raise ThreadError("There is nothing to save: that message has no text a person wrote "
                          "(bots' messages and join/leave notices are left out).")
    root = kept[0]
    texts = [plain_text(m.get("text", "")) for m in kept]
    body = "\n\n".join(texts)
    if len(body) > max_chars:
        raise ThreadError(f"That thread is {len(body):,} characters, over the {max_chars:,} "
                          "that one saved thread may hold. Save a shorter thread, or write it up "
                          "as a page and ingest that.")
    root_ts = str(root.get("thread_ts") or root["ts"])
    authors = list(dict.fromkeys(str(m["user"]) for m in kept))
    metadata: dict[str, Any] = {"kind": "slack-thread", "author": authors[0],
                                "participants": ",".join(authors), "slack_channel": channel,
                                "thread_ts": root_ts, "messages": len(kept)}
    if saved_by:
        metadata["saved_by"] = saved_by
    return Document(doc_id=thread_id(channel, root_ts), text=body,
                    title=title_of(texts[0]) or f"Thread in {channel}", source=permalink,
                    url=permalink, metadata=metadata, channels=(channel,) if private else None)
