"""Indexing a Slack channel: `argot ingest slack://C…`, `/argot index #channel`, the job.

`index_channel` reads the channel's top-level messages newer than the last finished run
(`conversations.history`, every page), and each thread in full (`conversations.replies`,
every page), oldest first. A thread becomes one document (engine/knowledge/threads.py),
and so does a message without replies that says enough (`MIN_WORDS`); bots' messages,
join/leave notices and questions put to Argot itself are skipped. A private channel's
documents are visible only there. Rate limits (Tier 3) are waited out (bot/slackread.py).

Incremental and resumable: after every `batch` threads the run stores how far it got
(`running_until`); a run that dies midway is picked up after that point by the next one,
and a finished run moves `done_until`, so the next reads only what is newer: new
top-level messages, and threads started in the last `REREAD_DAYS` days that got a reply
since (their `latest_reply`). An older thread's new replies come in when it is saved
again ("Save to Argot") or the channel is indexed afresh (`fresh=True`).

Example:
    >>> run = index_channel(client, services, "C0123")
    >>> run.summary()
    'C0123: 12 threads read, 3 added, 0 updated; 40 messages skipped'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.slackread import Sleep, permalink, thread_messages, top_level_messages
from engine.conversations import ConversationState
from engine.knowledge.threads import ThreadError, is_conversation, plain_text, thread_document
from engine.types import Document

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("argot.channels")

MIN_WORDS = 12
"""A message without replies becomes a document only when it has at least this many
words: "thanks!" and "+1" teach nothing."""
BATCH = 20
REREAD_DAYS = 7
"""How far back a run looks for threads with new replies (one more history page or two)."""


@dataclass
class ChannelRun:
    channel: str
    threads: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    resumed_after: str = ""

    def summary(self) -> str:
        text = (f"{self.channel}: {self.threads} threads read, {len(self.added)} added, "
                f"{len(self.updated)} updated; {self.skipped} messages skipped")
        if self.resumed_after:
            text += f" (resumed after {self.resumed_after})"
        return text + (f"; {len(self.errors)} not indexed" if self.errors else "")


def index_channel(client: WebClient, services: Services, channel: str, *, added_by: str = "",
                  bot_user_id: str = "", fresh: bool = False, batch: int = BATCH,
                  sleep: Sleep = time.sleep, progress: Callable[[str], Any] | None = None
                  ) -> ChannelRun:
    """Read what is new in `channel` into the index and remember how far it got.

    Raises SlackApiError when Slack refuses the channel (`not_in_channel`: invite the
    bot first); the cursors are then left as they were."""
    from handlers.channels import is_private  # handlers import this module

    state = ConversationState.of(services.feedback)
    private = is_private(client, channel)
    known = state.channel(channel)
    tracked = state.add_channel(channel, private=private, added_by=added_by)
    done = "" if fresh or known is None else tracked.done_until
    resume_after = "" if fresh else tracked.running_until
    run = ChannelRun(channel, resumed_after=resume_after)
    scan_from = f"{max(0.0, float(done) - REREAD_DAYS * 86400):.6f}" if done else ""
    roots = [root for root in top_level_messages(client, channel, oldest=scan_from, sleep=sleep)
             if not done or float(root["ts"]) > float(done)
             or float(root.get("latest_reply") or 0) > float(done)]
    newest = max([done, *(root["ts"] for root in roots)], key=lambda ts: float(ts or 0))
    pending: list[Document] = []
    last_ts = ""
    for root in roots:
        if resume_after and float(root["ts"]) <= float(resume_after):
            continue
        document = read_thread(client, channel, root, private=private, bot_user_id=bot_user_id,
                               sleep=sleep, run=run)
        last_ts = root["ts"]
        if document is not None:
            pending.append(document)
        if len(pending) >= batch:
            store(services, pending, run)
            state.progress(channel, last_ts)
            pending = []
            if progress:
                progress(run.summary())
    store(services, pending, run)
    state.finish(channel, newest or "")
    log.info("indexed %s", run.summary())
    return run


def read_thread(client: WebClient, channel: str, root: dict[str, Any], *, private: bool,
                bot_user_id: str, sleep: Sleep, run: ChannelRun) -> Document | None:
    """The document for one top-level message and its replies, or None to skip it."""
    if not is_conversation(root) or (bot_user_id and f"<@{bot_user_id}>" in root.get("text", "")):
        run.skipped += 1
        return None
    if root.get("reply_count"):
        messages = thread_messages(client, channel, root["ts"], sleep=sleep)
        run.threads += 1
    else:
        if len(plain_text(root.get("text", "")).split()) < MIN_WORDS:
            run.skipped += 1
            return None
        messages = [root]
    link = permalink(client, channel, root["ts"], sleep=sleep)
    try:
        return thread_document(messages, channel=channel, permalink=link, private=private)
    except ThreadError as exc:
        run.errors.append(f"{link}: {exc}")
        return None


def store(services: Services, documents: list[Document], run: ChannelRun) -> None:
    if not documents:
        return
    report = services.ingestor().ingest(documents)
    run.added += report.added
    run.updated += report.updated


def channel_ref(text: str) -> str:
    """A channel id from `<#C123|name>`, `C123` or `slack://C123`; "" for anything else
    (a bare `#name` needs a lookup: `find_channel`)."""
    text = text.strip().removeprefix("slack://").strip("/")
    if text.startswith("<#") and text.endswith(">"):
        return text[2:-1].split("|", 1)[0]
    return text if text[:1] in ("C", "G") and text[1:].isalnum() and text.isupper() else ""


def find_channel(client: WebClient, name: str, *, sleep: Sleep = time.sleep) -> str:
    """The id of the channel called `name` (`#name` or `name`) that the bot can see, or ""."""
    from bot.slackread import call_waiting

    wanted = name.strip().lstrip("#").lower()
    cursor = ""
    while True:
        page = call_waiting(client.conversations_list, sleep=sleep, limit=200,
                            types="public_channel,private_channel", exclude_archived=True,
                            **({"cursor": cursor} if cursor else {}))
        for channel in page.get("channels") or []:
            if str(channel.get("name", "")).lower() == wanted:
                return str(channel["id"])
        cursor = ((page.get("response_metadata") or {}).get("next_cursor") or "").strip()
        if not cursor:
            return ""


def cli_ingest(targets: list[str], services: Services, say: Callable[[str], Any]) -> int:
    """`argot ingest slack://C0123 [slack://C0456 …]`: index each channel; 1 on any error."""
    from slack_sdk.errors import SlackApiError

    from bot.slack_client import build_client

    if not services.settings.slack_bot_token:
        say("error: SLACK_BOT_TOKEN is not set; reading a channel needs the bot's token")
        return 2
    client = build_client(services.settings)
    bot_user_id = str(client.auth_test().get("user_id") or "")
    status = 0
    for target in targets:
        channel = channel_ref(target) or find_channel(client, target.removeprefix("slack://"))
        if not channel:
            say(f"error: {target}: not a channel id like slack://C0123 (or a channel I can see)")
            status = 1
            continue
        try:
            run = index_channel(client, services, channel, bot_user_id=bot_user_id,
                                progress=lambda line: say(f"  {line}"))
        except SlackApiError as exc:
            say(f"error: {target}: Slack answered {exc.response.get('error')}; "
                "invite the bot to the channel first (/invite @Argot)")
            status = 1
            continue
        say(run.summary())
        for error in run.errors:
            say(f"  not indexed: {error}")
    return status
