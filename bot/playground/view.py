"""What the page sees of the channel: the emulator's history, minus what Slack's own
client would not show (message metadata, tokens, download URLs).

Every field is picked explicitly, so nothing the bot attaches for machines (the
`argot_answer` metadata) reaches the page; the page only learns that a message is an
answer that can be rated.
"""

from __future__ import annotations

from typing import Any

from handlers.blocks import EVENT_TYPE

FILES_PATH = "/playground/files/"


def page_messages(history: list[dict[str, Any]], viewer: str) -> list[dict[str, Any]]:
    """Top-level messages with their replies, shaped for the page."""
    return [{**page_message(msg, viewer),
             "replies": [page_message(reply, viewer) for reply in msg.get("replies", [])]}
            for msg in history]


def page_message(msg: dict[str, Any], viewer: str) -> dict[str, Any]:
    metadata = msg.get("metadata") or {}
    return {
        "ts": msg["ts"],
        "thread_ts": msg.get("thread_ts"),
        "user": msg.get("user"),
        "is_bot": bool(msg.get("bot_id")),
        "text": msg.get("text") or "",
        "blocks": [block for block in msg.get("blocks") or [] if isinstance(block, dict)],
        "files": [page_file(f) for f in msg.get("files") or []],
        "reactions": [{"name": r["name"], "count": r["count"], "mine": viewer in r["users"]}
                      for r in msg.get("reactions") or []],
        "ephemeral": bool(msg.get("ephemeral")),
        "rateable": metadata.get("event_type") == EVENT_TYPE,
    }


def page_file(meta: dict[str, Any]) -> dict[str, Any]:
    mimetype = str(meta.get("mimetype") or "")
    return {
        "id": meta["id"],
        "name": meta.get("name") or "",
        "title": meta.get("title") or meta.get("name") or "",
        "mimetype": mimetype,
        "url": f"{FILES_PATH}{meta['id']}" if mimetype.startswith("image/") else None,
    }


def people(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """user id → display name and whether it is the bot."""
    return {u["id"]: {"name": u.get("real_name") or u["name"], "handle": u["name"],
                      "is_bot": bool(u.get("is_bot"))}
            for u in snapshot["users"]}
