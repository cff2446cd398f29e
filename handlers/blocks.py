"""Block Kit builders: pure functions from engine results to Slack message parts.

Nothing here talks to Slack or the engine, so every message the bot can send is easy
to check in a test or paste into Slack's Block Kit Builder.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from engine.types import Hit

EVENT_TYPE = "argot_answer"
EXCERPT_CHARS = 280
MENTION = re.compile(r"<@[UW][A-Z0-9]+>")
SECRET_PARAM = re.compile(r"token|key|secret|pass|pwd|sig|auth|session|code|credential", re.I)
URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"

HELP = (
    "*Argot* answers questions about your team's jargon from your team's own docs.\n"
    "• Mention me with a question: `@Argot what is Project Phoenix?` — or send me a DM.\n"
    "• `/argot QUESTION` — an answer only you can see.\n"
    "• `/argot define TERM: DEFINITION` — add a glossary entry. Defined in a private "
    "channel or a DM, it is only ever shown there.\n"
    "• *Save to Argot* (⋮ on any message) — make that thread a document. "
    "`/argot index #channel` — index a whole channel I am in.\n"
    "• React 👍 or 👎 on an answer to rate it; after a 👎 on the best match I post other "
    "candidates. Your ratings teach me your team's language."
)
EMPTY_QUESTION = ("Ask me something, e.g. `@Argot what is Project Phoenix?` "
                  "(`/argot help` shows everything I can do).")
NO_MATCH = ("I found nothing about that in the docs I know. Try other words, or add it "
            "with `/argot define TERM: DEFINITION`.")
NO_MORE = "I have no other candidates for this question."
TRY_AGAIN = "Sorry, I can't reach my database right now. Please try again in a minute."
SOMETHING_WRONG = "Sorry, something went wrong on my side. Please try again in a minute."
TRUNCATED = "(Your question was long; I searched with its first {limit} characters.)"


def escape(text: str) -> str:
    """Slack's three control characters, so document text can never ping or link:
    `<!channel>`, `<!here>`, `<!everyone>`, `<@U…>`, `<!subteam^…>` and `<url|label>`
    all arrive as plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shown_url(url: str) -> str | None:
    """A document's url as the bot may link it, or None when it must not be linked.

    Only http(s) with a host; the user name and password are dropped, so are query
    parameters that look like secrets (`token`, `key`, `sig`, ...); anything that could
    end Slack's `<url|label>` early (`<`, `>`, `|`, spaces) is percent-encoded.
    """
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not SECRET_PARAM.search(k)])
    clean = urlunsplit((parts.scheme.lower(), netloc, parts.path, query, parts.fragment))
    return quote(clean, safe=URL_SAFE)


def escape_keeping_mentions(text: str) -> str:
    """Like `escape`, but `<@U123>` stays a mention (used for "defined by <@U123>")."""
    parts, last = [], 0
    for match in MENTION.finditer(text):
        parts += [escape(text[last:match.start()]), match.group(0)]
        last = match.end()
    return "".join([*parts, escape(text[last:])])


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a passage, on one line, cut at a word boundary."""
    flat = " ".join(line.lstrip("#> ").strip() for line in text.splitlines())
    flat = " ".join(flat.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


def source_text(hit: Hit) -> str:
    url = shown_url(hit.url) if hit.url else None
    if url:
        return f"<{url}|{escape(link_label(url))}>"
    if hit.source:
        return escape_keeping_mentions(hit.source)
    return f"`{escape(hit.doc_id)}`"


def link_label(url: str) -> str:
    """What a link shows: host and path, never a query string or credentials."""
    parts = urlsplit(url)
    host = re.sub(r"^www\.", "", parts.hostname or "")
    return f"{host}{parts.path}".rstrip("/")[:80]


def answer_label(rank: int, alternative: bool) -> str:
    if alternative:
        return f"Another candidate (#{rank})"
    return "Best match" if rank == 1 else f"Also relevant (#{rank})"


def answer_message(hit: Hit, rank: int, *, alternative: bool = False) -> dict[str, Any]:
    """`text` (the notification fallback) and `blocks` for one shown document."""
    title = escape(hit.title or hit.doc_id)
    url = shown_url(hit.url) if hit.url else None
    heading = f"*<{url}|{title}>*" if url else f"*{title}*"
    passage = escape(excerpt(hit.text))
    label = answer_label(rank, alternative)
    return {
        "text": f"{label}: {escape(hit.title or hit.doc_id)} — {escape(excerpt(hit.text, 120))}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{heading}\n{passage}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text":
                f"{label} · {source_text(hit)} · rate it with 👍 or 👎"}]},
        ],
    }


def answer_metadata(query_id: str, hit: Hit, rank: int, ranked_by: str,
                    modality: str = "text") -> dict[str, Any]:
    """The `argot_answer` message metadata of PRODUCT.md; images add `modality`. Its
    `model_version` is what ranked the hit: the text model's registry name, or the CLIP
    model's `model_id` for a picture."""
    payload: dict[str, Any] = {"query_id": query_id, "doc_id": hit.doc_id, "rank": rank,
                               "score": round(float(hit.score), 6),
                               "model_version": ranked_by}
    if modality != "text":
        payload["modality"] = modality
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def private_answer(hits: list[Hit], question: str) -> dict[str, Any]:
    """One ephemeral message (for `/argot QUESTION`) listing the documents found."""
    if not hits:
        return {"response_type": "ephemeral", "text": NO_MATCH}
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [{"type": "mrkdwn",
                                          "text": f"You asked: _{escape(excerpt(question, 150))}_"}]}]
    for rank, hit in enumerate(hits, start=1):
        blocks += answer_message(hit, rank)["blocks"][:1]
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": source_text(hit)}]})
    best = hits[0]
    return {"response_type": "ephemeral", "blocks": blocks,
            "text": f"Best match: {escape(best.title or best.doc_id)} — "
                    f"{escape(excerpt(best.text, 120))}"}


def usage(problem: str = "") -> dict[str, Any]:
    text = f"{problem}\n\n{HELP}" if problem else HELP
    return {"response_type": "ephemeral", "text": text}


def defined(term: str, private: bool, replaced: str | None = None) -> str:
    where = ("Only people in this conversation will see it." if private
             else "Everyone can find it.")
    if replaced is not None:
        who = f" by <@{replaced}>" if re.fullmatch(r"[UW][A-Z0-9]+", replaced or "") else ""
        return (f"Updated *{escape(term)}* in the glossary; the definition{who} it replaces "
                f"is kept in its history. {where}")
    return f"Added *{escape(term)}* to the glossary. {where}"
