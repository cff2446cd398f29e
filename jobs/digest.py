"""The weekly knowledge-gap digest, posted to ARGOT_OPS_CHANNEL.

The questions of the past week that nobody could answer (everything shown got a 👎, or
nothing was found), grouped by topic (clustered by their embeddings), biggest topic
first, with counts and a few example questions each, so the people who own the
documents see what is missing. Questions asked in a DM or a private channel are counted
but never quoted. Mondays at 09:00 (server time); nothing is posted in a week without
gaps, or when ARGOT_OPS_CHANNEL is not set.

Example:
    >>> post_digest(services, client)
    '*Knowledge gaps this week*: 5 questions nobody could answer …'
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.services import Services
    from engine.knowledge.gaps import Topic

log = logging.getLogger(__name__)

DIGEST_JOB_ID = "argot-gap-digest"
DIGEST_SCHEDULE = "0 9 * * 1"
WEEK_SECONDS = 7 * 86400
TOPICS_SHOWN = 8
EXAMPLES = 3


def digest_text(topics: list[Topic], quotable: set[str]) -> str:
    """The digest's text; only questions from channels in `quotable` are quoted or give
    a topic its name."""
    from engine.knowledge.gaps import label

    total = sum(len(topic.questions) for topic in topics)
    lines = [f"*Knowledge gaps this week*: {total} question{'s' if total != 1 else ''} nobody "
             f"could answer, in {len(topics)} topic{'s' if len(topics) != 1 else ''}. "
             "Answer them from the Argot Home tab, or add the missing page."]
    for topic in topics[:TOPICS_SHOWN]:
        name = label(topic.questions, quotable) or "asked in private conversations"
        lines.append(f"• *{escape(name)}*: {len(topic.questions)} "
                     f"question{'s' if len(topic.questions) != 1 else ''}")
        examples = [g.text for g in topic.questions if g.channel in quotable][:EXAMPLES]
        lines += [f"    – “{escape(text[:140])}”" for text in examples]
    if len(topics) > TOPICS_SHOWN:
        rest = sum(len(t.questions) for t in topics[TOPICS_SHOWN:])
        lines.append(f"…and {rest} more in {len(topics) - TOPICS_SHOWN} smaller topics.")
    return "\n".join(lines)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_digest(services: Services, client: Any = None, *, now: float | None = None) -> str | None:
    """Post the past week's gaps to ARGOT_OPS_CHANNEL; the text posted, or None."""
    from engine.knowledge.gaps import topics, unanswered
    from handlers.channels import is_private
    from jobs.channels import slack_client

    channel = services.settings.ops_channel
    if not channel:
        log.info("no knowledge-gap digest: ARGOT_OPS_CHANNEL is not set")
        return None
    gaps = unanswered(services.feedback, since=(now or time.time()) - WEEK_SECONDS, limit=500)
    if not gaps:
        log.info("no knowledge-gap digest: every question this week found an answer")
        return None
    client = client or slack_client(services)
    if client is None:
        log.warning("no knowledge-gap digest: SLACK_BOT_TOKEN is not set")
        return None
    grouped = topics(gaps, services.embedder())
    quotable = {c for c in {g.channel for g in gaps} if c and not is_private(client, c)}
    text = digest_text(grouped, quotable)
    client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
    return text


def scheduled_digest(home: str) -> bool:
    from jobs.scheduler import _contexts

    context = _contexts.get(home)
    if context is None:
        log.warning("gap digest for %s fired in a process that does not serve it", home)
        return False
    services, client = context
    try:
        return post_digest(services, client) is not None
    except Exception:  # noqa: BLE001 - the scheduler would only log it less clearly
        log.exception("knowledge-gap digest failed")
        return False
