"""`/argot`: a question (answered only to its asker), `define TERM: DEFINITION`, `help`.

Help and usage are the acknowledgement itself; a question or a definition is
acknowledged empty at once and answered through the response_url by a lazy listener.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import AskedQuestion, ShownAnswer
from engine.knowledge.glossary import define, glossary_entry
from engine.search.retrieval import MAX_QUERY_CHARS
from handlers import blocks
from handlers.answers import ANSWERS_SHOWN, worth_showing
from handlers.channels import is_private
from handlers.context import services_in
from handlers.failures import reported
from handlers.indexing import INDEX_USAGE, index_from_command
from handlers.searches import search_text

log = logging.getLogger("argot.handlers")

SUBCOMMANDS = ("define", "help", "index")
HISTORY_KEPT = 10
DEFINE_USAGE = "Usage: `/argot define TERM: DEFINITION`, e.g. `/argot define GTQ: the golden ticket queue`."


@dataclass(frozen=True)
class Parsed:
    """What `/argot TEXT` asks for: "ask", "define", "help" or "usage"."""

    action: str
    question: str = ""
    term: str = ""
    definition: str = ""
    problem: str = ""


def from_slack(text: str) -> str:
    """Slack sends `&`, `<` and `>` typed by a person as `&amp;`, `&lt;`, `&gt;`: decode
    them once, so a glossary entry holds what was typed (answers escape it again)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse(text: str) -> Parsed:
    text = from_slack(text or "").strip()
    word, rest = [*text.split(None, 1), "", ""][:2]
    lowered = word.lower()
    if not text or lowered in ("help", "-h", "--help", "?"):
        return Parsed("help")
    if lowered == "define":
        term, colon, definition = rest.partition(":")
        if not colon or not term.strip() or not definition.strip():
            return Parsed("usage", problem=DEFINE_USAGE)
        return Parsed("define", term=term.strip(), definition=definition.strip())
    if lowered == "index":
        return Parsed("index", question=rest.strip()) if rest.strip() else Parsed(
            "usage", problem=INDEX_USAGE)
    if lowered.startswith("-") or difflib.get_close_matches(lowered, SUBCOMMANDS, n=1, cutoff=0.8):
        return Parsed("usage", problem=f"I don't know the sub-command `{blocks.escape(word)}`.")
    return Parsed("ask", question=text)


def register(app: App) -> None:
    app.command("/argot")(ack=acknowledge, lazy=[run])


def acknowledge(ack: Any, command: dict[str, Any]) -> None:
    parsed = parse(command.get("text", ""))
    if parsed.action in ("help", "usage"):
        ack(**blocks.usage(parsed.problem))
    else:
        ack()


def run(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Any) -> None:
    """Lazy listener: answer a question or add a definition, then respond ephemerally.

    A command replayed within Slack's five-minute signature window (same `trigger_id`)
    runs once."""
    trigger = command.get("trigger_id")
    if trigger and not services_in(context).feedback.claim_event(f"command:{trigger}"):
        log.warning("/argot with trigger %s arrived again; ignored", trigger)
        return
    parsed = parse(command.get("text", ""))
    if parsed.action == "ask":
        ask(command, parsed.question, context, respond)
    elif parsed.action == "define":
        add_definition(command, parsed, context, client, respond)
    elif parsed.action == "index":
        index_from_command(command, parsed.question, context, client, respond)


def ask(command: dict[str, Any], text: str, context: BoltContext, respond: Any) -> None:
    services = services_in(context)
    channel = command["channel_id"]
    with reported(lambda message: respond(text=message), "answering /argot"):
        question = AskedQuestion(text=text[:MAX_QUERY_CHARS], user=command["user_id"],
                                 channel=channel)
        text = question.text
        found, ranked_by = search_text(services, question, [], ANSWERS_SHOWN)
        hits = worth_showing(found)
        feedback = services.feedback
        feedback.record_question(question)
        for rank, hit in enumerate(hits, start=1):
            # An ephemeral answer cannot be reacted to, so it has no message ts.
            feedback.record_shown(ShownAnswer(question.query_id, hit.doc_id, rank, hit.score,
                                              ranked_by, channel))
        respond(**blocks.private_answer(hits, text))


def add_definition(command: dict[str, Any], parsed: Parsed, context: BoltContext,
                   client: WebClient, respond: Any) -> None:
    services = services_in(context)
    channel, user = command["channel_id"], command["user_id"]
    with reported(lambda message: respond(text=message), "defining a term"):
        private = is_private(client, channel)
        entry = glossary_entry(parsed.term, parsed.definition, author=user, channel=channel,
                               private=private, source=f"defined by <@{user}>")
        entry, replaced = with_history(services.index(), entry)
        define(services.ingestor(), entry)
        log.info("%s defined %s in %s (%s)", user, entry.doc_id, channel,
                 "private" if private else "public")
        respond(text=blocks.defined(entry.title, private, replaced=replaced))


def with_history(index: Any, entry: Any) -> tuple[Any, str | None]:
    """`entry`, carrying the definitions it replaces (newest first, at most
    `HISTORY_KEPT`) in its `history` metadata, and credited to both authors when it
    overwrites someone else's; plus who wrote the one replaced (None if nobody)."""
    import json
    from dataclasses import replace

    earlier = index.chunks_of(entry.doc_id)
    if not earlier:
        return entry, None
    chunk, meta = earlier[0]
    author = str(meta.get("m.author") or "")
    try:
        history = json.loads(meta.get("m.history") or "[]")
    except ValueError:
        history = []
    old = chunk.text.split(":", 1)[-1].strip()
    history = [{"author": author, "definition": old}, *history][:HISTORY_KEPT]
    source = entry.source
    if author and author != entry.metadata.get("author"):
        source = f"{entry.source}, replacing <@{author}>'s definition"
    return replace(entry, source=source, metadata={**entry.metadata, "history": history}), author
