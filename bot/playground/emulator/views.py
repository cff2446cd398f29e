"""Surfaces that are views, not messages: the App Home tab and modals.

`views.publish` stores a person's Home tab, `views.open` a modal for the person whose
interaction made the `trigger_id` (a trigger expires after `TRIGGER_SECONDS`, as Slack's
do after three seconds; here a little longer, for slow test machines), `views.update`
replaces an open modal. The state lives beside the workspace, behind its lock, and every
change wakes the workspace's waiters.
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from .constants import APP_ID, BOT_ID, TEAM_ID, SlackError
from .params import Params
from .workspace import Workspace

TRIGGER_SECONDS = 30.0


@dataclass
class Trigger:
    user: str
    channel: str | None
    made_at: float


@dataclass
class ViewState:
    """Home tabs by user, open modals by view id, triggers handed out to interactions."""

    homes: dict[str, dict[str, Any]] = field(default_factory=dict)
    modals: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)


def views_of(ws: Workspace) -> ViewState:
    """The view state of a workspace, created on first use."""
    with ws.changed:
        state = ws.__dict__.get("_views")
        if state is None:
            state = ws.__dict__["_views"] = ViewState()
        return state


def new_trigger(ws: Workspace, user: str, channel: str | None = None) -> str:
    trigger_id = f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}"
    with ws.changed:
        views_of(ws).triggers[trigger_id] = Trigger(user, channel, time.monotonic())
    return trigger_id


def _view(p: Params) -> dict[str, Any]:
    view = p.json("view", "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") not in ("home", "modal"):
        raise SlackError("invalid_arguments")
    if not isinstance(view.get("blocks", []), list) or len(view.get("blocks", [])) > 100:
        raise SlackError("invalid_blocks")
    return view


def _stored(view: dict[str, Any], user: str, view_id: str | None = None) -> dict[str, Any]:
    return {**copy.deepcopy(view), "id": view_id or "V" + uuid.uuid4().hex[:10].upper(),
            "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": BOT_ID, "user": user,
            "hash": uuid.uuid4().hex[:16], "state": {"values": {}},
            "private_metadata": view.get("private_metadata", "")}


def views_publish(ws: Workspace, p: Params) -> dict[str, Any]:
    user = p.need("user_id", "user_not_found")
    ws.user(user)
    view = _view(p)
    if view["type"] != "home":
        raise SlackError("invalid_arguments")
    with ws.changed:
        homes = views_of(ws).homes
        stored = _stored(view, user, homes.get(user, {}).get("id"))
        homes[user] = stored
        ws.touch()
    return {"view": copy.deepcopy(stored)}


def views_open(ws: Workspace, p: Params) -> dict[str, Any]:
    trigger_id = p.need("trigger_id", "invalid_trigger_id")
    view = _view(p)
    with ws.changed:
        state = views_of(ws)
        trigger = state.triggers.pop(trigger_id, None)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if time.monotonic() - trigger.made_at > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        stored = _stored(view, trigger.user)
        state.modals[stored["id"]] = stored
        ws.touch()
    return {"view": copy.deepcopy(stored)}


def views_update(ws: Workspace, p: Params) -> dict[str, Any]:
    view_id = p.need("view_id", "not_found")
    view = _view(p)
    with ws.changed:
        modals = views_of(ws).modals
        if view_id not in modals:
            raise SlackError("not_found")
        stored = _stored(view, modals[view_id]["user"], view_id)
        modals[view_id] = stored
        ws.touch()
    return {"view": copy.deepcopy(stored)}


def home_of(ws: Workspace, user: str) -> dict[str, Any] | None:
    with ws.changed:
        home = views_of(ws).homes.get(user)
        return copy.deepcopy(home) if home else None


def modals_of(ws: Workspace, user: str) -> list[dict[str, Any]]:
    with ws.changed:
        return [copy.deepcopy(m) for m in views_of(ws).modals.values() if m["user"] == user]


def close_modal(ws: Workspace, view_id: str) -> None:
    with ws.changed:
        views_of(ws).modals.pop(view_id, None)
        ws.touch()


def set_modal_errors(ws: Workspace, view_id: str, errors: dict[str, str]) -> None:
    """Slack keeps a modal open and shows these under its inputs (`response_action: errors`)."""
    with ws.changed:
        modal = views_of(ws).modals.get(view_id)
        if modal is not None:
            modal["errors"] = dict(errors)
            ws.touch()


METHODS = {"views.publish": views_publish, "views.open": views_open,
           "views.update": views_update}
