"""Builders for the payloads Slack sends to a bot, shaped like the real ones.

Pure functions from workspace facts to dicts: no I/O, so the shapes are easy to
compare with Slack's documentation and to reuse from tests that only need JSON.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from .constants import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, VERIFICATION_TOKEN


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def envelope(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """The ``event_callback`` wrapper every Events API delivery has."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "context_team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + uuid.uuid4().hex,
    }


def message_event(message: dict[str, Any], channel: str, kind: str) -> dict[str, Any]:
    """``app_mention`` (kind "app_mention") or ``message`` with ``channel_type`` = kind."""
    event: dict[str, Any] = {
        "type": "app_mention" if kind == "app_mention" else "message",
        "user": message["user"],
        "text": message["text"],
        "ts": message["ts"],
        "channel": channel,
        "event_ts": message["ts"],
        "team": TEAM_ID,
    }
    if "client_msg_id" in message:
        event["client_msg_id"] = message["client_msg_id"]
    if message.get("files"):
        event["files"] = message["files"]
        event["upload"] = False
        event["display_as_bot"] = False
        if kind != "app_mention":
            event["subtype"] = "file_share"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        event["thread_ts"] = message["thread_ts"]
        event["parent_user_id"] = message.get("parent_user_id")
    if kind != "app_mention":
        event["channel_type"] = kind
    return event


def reaction_event(kind: str, user: str, channel: str, ts: str, name: str, item_user: str) -> dict[str, Any]:
    """``reaction_added`` or ``reaction_removed`` on a message."""
    return {
        "type": kind,
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": item_user,
        "event_ts": f"{time.time():.6f}",
    }


def slash_command_form(
    user: dict[str, Any],
    channel: dict[str, Any],
    command: str,
    text: str,
    response_url: str,
) -> dict[str, str]:
    """The form fields of a slash command invocation."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel["id"],
        "channel_name": channel.get("name") or "directmessage",
        "user_id": user["id"],
        "user_name": user["name"],
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
    }


def block_action_payload(
    user: dict[str, Any],
    channel: dict[str, Any],
    message: dict[str, Any],
    action: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    """A ``block_actions`` interaction (a button click on a message)."""
    return {
        "type": "block_actions",
        "user": {"id": user["id"], "username": user["name"], "name": user["name"], "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel["id"],
            "is_ephemeral": False,
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
        },
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:20]}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel["id"], "name": channel.get("name") or "directmessage"},
        "message": message,
        "response_url": response_url,
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }


def url_verification_payload(challenge: str) -> dict[str, Any]:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def message_action_payload(
    user: dict[str, Any],
    channel: dict[str, Any],
    message: dict[str, Any],
    callback_id: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A message shortcut (``message_action``), e.g. "Save to Argot" on a message."""
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user["id"], "username": user["name"], "name": user["name"], "team_id": TEAM_ID},
        "channel": {"id": channel["id"], "name": channel.get("name") or "directmessage"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": message,
    }


def app_home_opened_event(user: str, dm_channel: str, view: dict[str, Any] | None) -> dict[str, Any]:
    """``app_home_opened`` for the Home tab; ``view`` is the one published before, if any."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": dm_channel,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event


def view_block_action_payload(
    user: dict[str, Any], view: dict[str, Any], action: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    """A ``block_actions`` interaction on a button in a view (the Home tab or a modal)."""
    return {
        "type": "block_actions",
        "user": {"id": user["id"], "username": user["name"], "name": user["name"], "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": view,
        "actions": [{"action_ts": f"{time.time():.6f}", **action}],
    }


def view_submission_payload(user: dict[str, Any], view: dict[str, Any], trigger_id: str) -> dict[str, Any]:
    """A modal's ``view_submission``; ``view["state"]["values"]`` holds what was typed."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user["id"], "username": user["name"], "name": user["name"], "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
