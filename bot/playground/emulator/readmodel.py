"""Read-only views of the workspace, shaped for tests and for a web page.

All functions return plain, JSON-serialisable copies. ``channel_history`` nests
thread replies under their parent the way Slack's UI shows them, and places
ephemeral messages inline, marked ``ephemeral`` with the user who can see them.
"""

from __future__ import annotations

import copy
from typing import Any

from .constants import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, TEAM_NAME
from .workspace import Workspace


def _is_reply(msg: dict[str, Any]) -> bool:
    return bool(msg.get("thread_ts")) and msg["thread_ts"] != msg["ts"]


def messages(ws: Workspace, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
    """Top-level messages, or a thread's replies without its parent, oldest first."""
    with ws.changed:
        cid = ws.resolve_channel(channel)
        if thread_ts is None:
            chosen = [m for m in ws.messages[cid] if not _is_reply(m)]
        else:
            chosen = [m for m in ws.messages[cid] if _is_reply(m) and m["thread_ts"] == thread_ts]
        return [ws.render(m, with_metadata=True) for m in chosen]


def ephemerals(ws: Workspace, channel: str | None, user: str | None) -> list[dict[str, Any]]:
    with ws.changed:
        cid = ws.resolve_channel(channel) if channel else None
        return [
            copy.deepcopy(e)
            for e in ws.ephemerals
            if cid in (None, e["channel"]) and user in (None, e["visible_to"])
        ]


def channel_history(ws: Workspace, channel: str, viewer: str | None) -> list[dict[str, Any]]:
    """Top-level messages oldest first, each with ``replies`` (oldest first)."""
    with ws.changed:
        cid = ws.resolve_channel(channel)
        everything = [ws.render(m, with_metadata=True) for m in ws.messages[cid]]
        everything += ephemerals(ws, cid, viewer)
    top: list[dict[str, Any]] = []
    replies: dict[str, list[dict[str, Any]]] = {}
    for msg in sorted(everything, key=lambda m: m["ts"]):
        if _is_reply(msg):
            replies.setdefault(msg["thread_ts"], []).append(msg)
        else:
            top.append(msg)
    for msg in top:
        msg["replies"] = replies.get(msg["ts"], [])
    return top


def snapshot(ws: Workspace) -> dict[str, Any]:
    """Who and where: the team, the bot, users and channels, with the current revision."""
    with ws.changed:
        users = [copy.deepcopy(u) for u in ws.users.values()]
        channels = [ws.channel_info(cid) for cid in ws.channels]
        return {
            "revision": ws.revision,
            "team": {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN},
            "bot": {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID},
            "base_url": ws.base_url,
            "users": users,
            "channels": channels,
        }
