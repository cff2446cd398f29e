"""What people do in Slack (post, react, run a command, click), delivered to the bot.

Each action first records its effect in the workspace, as Slack would, then sends
the signed payload Slack would send, synchronously from the caller's thread. The
workspace lock is never held while sending: the bot may call the Web API back
before it answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from . import payloads
from .constants import BOT_USER_ID
from .events import NOW, Delivery, EventSender, SignedRequest, Signing
from .files import share_file
from .routes import SlackFront, SlashContext, record_response
from .workspace import Workspace


class HumanActions:
    """The Events API half of ``SlackEmulator``: humans acting, and the bot hearing it."""

    workspace: Workspace
    front: SlackFront
    events: EventSender | None

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    # -- humans acting, delivered to the bot ----------------------------------------------

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        files: Sequence[dict[str, Any] | str] | None = None,
        thread_ts: str | None = None,
        *,
        deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        """Record a human's message, then send the event Slack would: ``app_mention`` for a
        mention in a channel, ``message`` (channel_type "im") in a DM, ``message``
        (channel_type "channel" or "group") for a thread reply without a mention, nothing
        for other messages (the bot reads channels only for replies in its threads)."""
        ws = self.workspace
        file_ids = [f if isinstance(f, str) else f["id"] for f in files or []]
        with ws.changed:
            cid = ws.resolve_channel(channel)
            kind = ws.channel_type(cid)
            msg = ws.post(
                cid, user, text, thread_ts=thread_ts, files=file_ids or None, client_msg_id=str(uuid.uuid4())
            )
            for fid in file_ids:
                share_file(ws, fid, cid, msg["ts"], msg.get("thread_ts"))
            msg = {**ws.message(cid, msg["ts"]), "channel": cid}  # files now show the share
        if kind == "im":
            event = payloads.message_event(msg, cid, "im")
        elif f"<@{BOT_USER_ID}>" in text:
            event = payloads.message_event(msg, cid, "app_mention")
        elif msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            event = payloads.message_event(msg, cid, kind)
        else:
            return Delivery(None, message=msg)
        return self._deliver_json(payloads.envelope(event), deliver, signing, msg)

    def add_reaction(
        self,
        user: str,
        channel: str,
        ts: str,
        name: str,
        *,
        deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        return self._react(user, channel, ts, name, True, deliver, signing)

    def remove_reaction(
        self,
        user: str,
        channel: str,
        ts: str,
        name: str,
        *,
        deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        return self._react(user, channel, ts, name, False, deliver, signing)

    def _react(
        self,
        user: str,
        channel: str,
        ts: str,
        name: str,
        add: bool,
        deliver: bool,
        signing: Signing,
    ) -> Delivery:
        cid = self.workspace.resolve_channel(channel)
        item_user = self.workspace.react(cid, ts, user, name, add=add)
        kind = "reaction_added" if add else "reaction_removed"
        event = payloads.reaction_event(kind, user, cid, ts, name, item_user)
        msg = {**self.workspace.message(cid, ts), "channel": cid}
        return self._deliver_json(payloads.envelope(event), deliver, signing, msg)

    def slash_command(
        self,
        user: str,
        channel: str,
        command: str = "/argot",
        text: str = "",
        *,
        deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        """Invoke a slash command; the bot's ack body and anything it posts to the
        response_url show up as ephemeral (or in-channel) messages."""
        ws = self.workspace
        cid = ws.resolve_channel(channel)
        context = SlashContext(cid, user)
        key = uuid.uuid4().hex
        self.front.slash_contexts[key] = context
        form = payloads.slash_command_form(
            ws.user(user), ws.channel_info(cid), command, text, f"{self.base_url}response/{key}"
        )
        delivery = self._deliver(self._sender().build_form(form, signing), deliver)
        if delivery.status == 200 and delivery.body.strip():
            try:
                answer = delivery.json()
            except ValueError:
                answer = {"text": delivery.body}
            if isinstance(answer, dict):
                record_response(ws, context, answer)
        return delivery

    def click_button(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        value: str = "",
        *,
        block_id: str = "",
        deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        """A ``block_actions`` interaction on a button of the message at ``ts``."""
        ws = self.workspace
        cid = ws.resolve_channel(channel)
        msg = ws.message(cid, ts)
        key = uuid.uuid4().hex
        self.front.slash_contexts[key] = SlashContext(cid, user)
        action = {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "text": {"type": "plain_text", "text": value},
        }
        payload = payloads.block_action_payload(
            ws.user(user), ws.channel_info(cid), msg, action, f"{self.base_url}response/{key}"
        )
        request = self._sender().build_form({"payload": json.dumps(payload)}, signing)
        return self._deliver(request, deliver, msg)

    def send_event(self, event: dict[str, Any], *, deliver: bool = True, signing: Signing = NOW) -> Delivery:
        """Deliver any inner event (e.g. ``app_home_opened``) in a fresh envelope."""
        return self._deliver_json(payloads.envelope(event), deliver, signing, None)

    def url_verification(self, challenge: str | None = None) -> Delivery:
        """Slack's handshake when a request URL is saved; the bot must echo the challenge."""
        payload = payloads.url_verification_payload(challenge or uuid.uuid4().hex)
        return self._deliver_json(payload, True, NOW, None)

    def redeliver(self, delivery: Delivery, retry_num: int = 1, reason: str = "http_timeout") -> Delivery:
        """Send the same payload again (same event_id) with Slack's retry headers."""
        if delivery.request is None:
            raise ValueError("Nothing was built for this delivery, so nothing can be resent.")
        signing = Signing(retry_num=retry_num, retry_reason=reason)
        request = self._sender().resign(delivery.request, signing)
        return self._deliver(request, True, delivery.message)

    def _sender(self) -> EventSender:
        if self.events is None:
            raise RuntimeError(
                "No bot to deliver to. Call emulator.connect(request_url, signing_secret) "
                "first, or pass deliver=False."
            )
        return self.events

    def _deliver_json(
        self,
        payload: dict[str, Any],
        deliver: bool,
        signing: Signing,
        message: dict[str, Any] | None,
    ) -> Delivery:
        if not deliver and self.events is None:
            return Delivery(None, message=message)
        return self._deliver(self._sender().build_json(payload, signing), deliver, message)

    def _deliver(
        self, request: SignedRequest, deliver: bool, message: dict[str, Any] | None = None
    ) -> Delivery:
        # Never called with the workspace lock held: the bot may call back synchronously.
        if not deliver:
            return Delivery(request, message=message)
        delivery = self._sender().send(request)
        delivery.message = message
        return delivery
