"""Block Kit for the App Home tab and the "answer this question" modal: pure builders.

Nothing here talks to Slack or the engine (as handlers/blocks.py), so the Home tab can be
checked in a test or pasted into Slack's Block Kit Builder.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from engine.knowledge.gaps import Gap, Recent
from engine.knowledge.inventory import Inventory
from handlers.blocks import escape, excerpt

ANSWER_ACTION = "argot_answer_gap"
ANSWER_MODAL = "argot_gap_answer"
DEFINITION_BLOCK, DEFINITION_INPUT = "definition", "definition_input"
LINK_BLOCK, LINK_INPUT = "link", "link_input"
OUTCOMES = {"answered": "👍 answered", "unanswered": "👎 nobody could answer yet",
            "not rated": "not rated"}
MAX_BLOCKS = 100


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def ago(when: float, now: float | None = None) -> str:
    seconds = max(0, int((now or time.time()) - when))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def knowledge_blocks(known: Inventory) -> list[dict[str, Any]]:
    if not known.documents:
        return [section("Nothing yet. Add documents with `argot ingest`, save a thread with "
                        "*Save to Argot* (⋮ on any message), or `/argot define TERM: DEFINITION`.")]
    parts = ", ".join(f"{count} {kind}" for kind, count in known.by_source.items())
    lines = [f"*{known.documents} documents*: {parts}.",
             f"Glossary: *{known.glossary}* terms defined in Slack."]
    if known.private:
        lines.append(f"{known.private} of them are shown only in the conversation they came from.")
    return [section("\n".join(lines))]


def model_blocks(active: str, cycle: dict[str, Any] | None) -> list[dict[str, Any]]:
    text = f"Answering with model *{escape(active)}*."
    if cycle is None:
        return [section(text + " No learning cycle has run yet; ratings (👍 / 👎) are what "
                        "it will learn from.")]
    report = cycle.get("report") or {}
    metric = (report.get("metrics") or {})
    before = (metric.get("active") or {}).get("ndcg@10")
    after = (metric.get("candidate") or {}).get("ndcg@10")
    change = ""
    if before is not None and after is not None:
        change = f" Held-out nDCG@10 {before:.3f} → {after:.3f}."
    when = ago(cycle["finished_at"]) if cycle.get("finished_at") else ""
    return [section(text), context(f"Last learning cycle {when}: *{escape(str(cycle['decision']))}*. "
                                   f"{escape(str(cycle.get('reason') or ''))}{change}")]


def recent_blocks(recent: Sequence[Recent]) -> list[dict[str, Any]]:
    if not recent:
        return [section("You haven't asked me anything yet. Mention me with a question, or "
                        "send me a DM.")]
    lines = [f"• {escape(excerpt(r.text, 100))} — _{OUTCOMES.get(r.outcome, r.outcome)}_, "
             f"{ago(r.asked_at)}" for r in recent]
    return [section("\n".join(lines))]


def gap_blocks(gaps: Sequence[Gap]) -> list[dict[str, Any]]:
    if not gaps:
        return [section("None right now: no recent question had every answer 👎, or nothing "
                        "found at all.")]
    blocks: list[dict[str, Any]] = []
    for gap in gaps:
        found = "nothing found" if not gap.shown else f"all {gap.shown} shown got 👎"
        blocks.append(section(
            f"*{escape(excerpt(gap.text, 150))}*\n{found} · asked {ago(gap.asked_at)}",
            block_id=f"gap-{gap.query_id}",
            accessory={"type": "button", "action_id": ANSWER_ACTION, "value": gap.query_id,
                       "text": {"type": "plain_text", "text": "Answer it"}}))
    return blocks


def home_view(*, known: Inventory, active: str, cycle: dict[str, Any] | None,
              recent: Sequence[Recent], gaps: Sequence[Gap]) -> dict[str, Any]:
    """The whole Home tab."""
    blocks = [header("What Argot knows"), *knowledge_blocks(known),
              header("The model"), *model_blocks(active, cycle),
              header("Your recent questions"), *recent_blocks(recent),
              header("Questions nobody could answer"),
              context("Know the answer? Type it, or give the link of the page that has it; "
                      "it becomes the right answer for that question."),
              *gap_blocks(gaps)]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def answer_modal(gap_text: str, query_id: str) -> dict[str, Any]:
    """The form for answering one question: a definition, or a link (either is enough)."""
    return {
        "type": "modal", "callback_id": ANSWER_MODAL, "private_metadata": query_id,
        "title": {"type": "plain_text", "text": "Answer a question"},
        "submit": {"type": "plain_text", "text": "Save answer"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{escape(excerpt(gap_text, 280))}*"),
            {"type": "input", "block_id": DEFINITION_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "The answer"},
             "element": {"type": "plain_text_input", "action_id": DEFINITION_INPUT,
                         "multiline": True, "max_length": 3000}},
            {"type": "input", "block_id": LINK_BLOCK, "optional": True,
             "label": {"type": "plain_text", "text": "…or the link (or id) of the right page"},
             "element": {"type": "plain_text_input", "action_id": LINK_INPUT}},
        ],
    }


def submitted(view: dict[str, Any]) -> tuple[str, str]:
    """(definition, link) typed into the modal, each stripped ("" when left empty)."""
    values = (view.get("state") or {}).get("values") or {}

    def typed(block: str, action: str) -> str:
        return str(((values.get(block) or {}).get(action) or {}).get("value") or "").strip()

    return typed(DEFINITION_BLOCK, DEFINITION_INPUT), typed(LINK_BLOCK, LINK_INPUT)
