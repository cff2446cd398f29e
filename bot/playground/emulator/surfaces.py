"""What people do outside messages: message shortcuts, the Home tab, modals.

The second half of ``SlackEmulator``'s human actions (``humans.py`` has messages,
reactions, commands and message buttons). As there, each action records its effect in
the workspace first and then sends the signed payload Slack would send:

- ``message_shortcut``: "Save to Argot" (any ``callback_id``) on a message;
- ``open_home``: the person opens the bot's Home tab (``app_home_opened``);
- ``click_view_button``: a button on the Home tab or in a modal (``block_actions``);
- ``submit_modal``: the person presses a modal's submit button (``view_submission``);
  an answer with ``response_action: errors`` keeps the modal open with the errors, any
  other closes it, as in Slack.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import payloads
from .constants import BOT_USER_ID
from .events import NOW, Delivery, SignedRequest, Signing
from .routes import SlackFront, SlashContext
from .views import close_modal, home_of, modals_of, new_trigger, set_modal_errors, views_of
from .workspace import Workspace


class SurfaceActions:
    """Shortcuts, the Home tab and modals, for ``SlackEmulator``."""

    workspace: Workspace
    front: SlackFront

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    def _sender(self) -> Any:
        raise NotImplementedError

    def _deliver(self, request: SignedRequest, deliver: bool,
                 message: dict[str, Any] | None = None) -> Delivery:
        raise NotImplementedError

    def _deliver_json(self, payload: dict[str, Any], deliver: bool, signing: Signing,
                      message: dict[str, Any] | None) -> Delivery:
        raise NotImplementedError

    # -- the workspace ----------------------------------------------------------------------

    def remove_bot_from(self, channel: str) -> None:
        """Take the bot out of a channel: it can no longer read it (``not_in_channel``)."""
        ws = self.workspace
        with ws.changed:
            members = ws.channels[ws.resolve_channel(channel)]["members"]
            if BOT_USER_ID in members:
                members.remove(BOT_USER_ID)
            ws.touch()

    def post_bot_message(self, channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
        """A message from the bot itself, recorded without any event (the bot would not hear it)."""
        return self.workspace.post(self.workspace.resolve_channel(channel), BOT_USER_ID, text,
                                   thread_ts=thread_ts)

    def post_notice(self, channel: str, user: str, subtype: str = "channel_join") -> dict[str, Any]:
        """A housekeeping message such as "alice has joined the channel"; no event is sent."""
        ws = self.workspace
        ws.user(user)
        verb = "joined" if subtype.endswith("join") else "left"
        return ws.post(ws.resolve_channel(channel), user, f"<@{user}> has {verb} the channel",
                       subtype=subtype)

    # -- message shortcuts --------------------------------------------------------------------

    def message_shortcut(self, user: str, channel: str, ts: str, callback_id: str = "argot_save",
                         *, deliver: bool = True, signing: Signing = NOW) -> Delivery:
        """Choose a message shortcut from a message's "More actions" menu."""
        ws = self.workspace
        cid = ws.resolve_channel(channel)
        message = ws.message(cid, ts)
        key = uuid.uuid4().hex
        self.front.slash_contexts[key] = SlashContext(cid, user)
        payload = payloads.message_action_payload(
            ws.user(user), ws.channel_info(cid), message, callback_id, new_trigger(ws, user, cid),
            f"{self.base_url}response/{key}")
        request = self._sender().build_form({"payload": json.dumps(payload)}, signing)
        return self._deliver(request, deliver, {**message, "channel": cid})

    # -- the Home tab and modals ----------------------------------------------------------------

    def open_home(self, user: str, *, deliver: bool = True, signing: Signing = NOW) -> Delivery:
        """The person opens the bot's Home tab."""
        ws = self.workspace
        event = payloads.app_home_opened_event(user, ws.dm(user), home_of(ws, user))
        return self._deliver_json(payloads.envelope(event), deliver, signing, None)

    def home(self, user: str) -> dict[str, Any] | None:
        """The Home tab the bot last published for ``user`` (None before any)."""
        return home_of(self.workspace, user)

    def modals(self, user: str) -> list[dict[str, Any]]:
        """The modals open for ``user``, oldest first."""
        return modals_of(self.workspace, user)

    def click_view_button(self, user: str, action_id: str, value: str = "", *,
                          view_id: str | None = None, deliver: bool = True,
                          signing: Signing = NOW) -> Delivery:
        """Press a button on the person's Home tab (or in the modal ``view_id``)."""
        ws = self.workspace
        view = next((m for m in modals_of(ws, user) if m["id"] == view_id), None) if view_id \
            else home_of(ws, user)
        if view is None:
            raise ValueError(f"No view to click in for {user}; publish a Home tab or open a modal first.")
        block_id = next((b.get("block_id", "") for b in view.get("blocks", [])
                         for e in b.get("elements", []) + [b.get("accessory") or {}]
                         if e.get("action_id") == action_id and e.get("value", "") == value), "")
        action = {"type": "button", "action_id": action_id, "block_id": block_id, "value": value}
        payload = payloads.view_block_action_payload(ws.user(user), view, action, new_trigger(ws, user))
        request = self._sender().build_form({"payload": json.dumps(payload)}, signing)
        return self._deliver(request, deliver)

    def submit_modal(self, user: str, view_id: str, values: dict[str, str], *,
                     deliver: bool = True, signing: Signing = NOW) -> Delivery:
        """Fill a modal's inputs (``{block_id: text}``, or ``{"block_id.action_id": text}``)
        and submit it."""
        ws = self.workspace
        view = next((m for m in modals_of(ws, user) if m["id"] == view_id), None)
        if view is None:
            raise ValueError(f"No modal {view_id} is open for {user}.")
        view["state"] = {"values": _state_values(view, values)}
        payload = payloads.view_submission_payload(ws.user(user), view, new_trigger(ws, user))
        request = self._sender().build_form({"payload": json.dumps(payload)}, signing)
        delivery = self._deliver(request, deliver)
        answer = delivery.json() if delivery.status == 200 and delivery.body.strip() else None
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            set_modal_errors(ws, view_id, answer.get("errors") or {})
        elif delivery.status == 200 and view_id in views_of(ws).modals:
            close_modal(ws, view_id)
        return delivery


def _state_values(view: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """``view.state.values`` as Slack fills it: block id → action id → typed value."""
    state: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        block_id = block.get("block_id", "")
        action_id = (block.get("element") or {}).get("action_id", "")
        typed = values.get(block_id, values.get(f"{block_id}.{action_id}"))
        state[block_id] = {action_id: {"type": "plain_text_input", "value": typed or None}}
    return state
