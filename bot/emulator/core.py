"""``SlackEmulator``: a tiny Slack that a real bot talks to over HTTP, with no workspace.

The bot points its ``WebClient`` at ``emulator.api_url`` and its Events API at
the emulator's sender; tests and the playground act as the humans. One instance
serves both, so what the playground shows is exactly what the tests check.

Typical use::

    with SlackEmulator() as slack:
        slack.connect("http://127.0.0.1:3000/slack/events", signing_secret)
        asked = slack.post_user_message(slack.channel_id("general"), slack.user_id("alice"),
                                        "<@UBOT> what is Phoenix?")
        replies = slack.wait_for_messages(asked.message["channel"], thread_ts=asked.ts)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from . import payloads, readmodel
from .constants import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET
from .events import NOW, Delivery, EventSender, SignedRequest, Signing
from .files import add_file, file_info, share_file, stored_file
from .routes import Call, SlackFront, SlashContext, record_response
from .server import HttpServer, Route
from .workspace import Workspace

T = TypeVar("T")


class SlackEmulator:
    """A fake Slack Web API and Events API sender on 127.0.0.1, for tests and the playground."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        request_url: str | None = None,
        signing_secret: str = SIGNING_SECRET,
        port: int = 0,
        seed: bool = True,
    ) -> None:
        self.bot_token = bot_token
        self.workspace = Workspace()
        self.front = SlackFront(self.workspace, {bot_token})
        self.server = HttpServer(port=port)
        self.front.install(self.server)
        self.events: EventSender | None = None
        if request_url:
            self.connect(request_url, signing_secret)
        if seed:
            # A small default world so a test or the playground can start talking at once.
            alice = self.add_user("alice", real_name="Alice Example")
            bob = self.add_user("bob", real_name="Bob Example")
            self.add_channel("general", members=[alice, bob])

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self.server.start()
        self.workspace.base_url = self.server.base_url
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def api_url(self) -> str:
        """Pass as ``WebClient(base_url=...)``."""
        return f"{self.server.base_url}api/"

    def add_route(self, method: str, prefix: str, handler: Route) -> None:
        """Serve extra paths (e.g. a playground page) from the same server."""
        self.server.route(method, prefix, handler)

    def connect(self, request_url: str, signing_secret: str = SIGNING_SECRET) -> EventSender:
        """Tell the emulator where the bot listens for events, and the secret to sign with."""
        self.events = EventSender(request_url, signing_secret)
        return self.events

    # -- the workspace -------------------------------------------------------------------

    def add_user(self, name: str, *, real_name: str | None = None, is_admin: bool = False) -> str:
        return self.workspace.add_user(name, real_name=real_name, is_admin=is_admin)

    def add_channel(
        self, name: str, *, private: bool = False, members: list[str] | None = None
    ) -> str:
        """A public "C…" or private "G…" channel; the bot is always a member."""
        return self.workspace.add_channel(name, private=private, members=members)

    def dm(self, user: str) -> str:
        """The "D…" channel between ``user`` and the bot."""
        return self.workspace.dm(user)

    def user_id(self, name: str) -> str:
        with self.workspace.changed:
            for uid, user in self.workspace.users.items():
                if user["name"] == name:
                    return uid
        raise KeyError(f"No user named {name!r}. Add one with add_user({name!r}).")

    def channel_id(self, name: str) -> str:
        return self.workspace.resolve_channel(name)

    def add_file(
        self,
        content: bytes,
        name: str,
        mimetype: str | None = None,
        user: str = "",
        channel: str | None = None,
        *,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Store a file a human uploaded; returns the Slack file object to attach to a
        message with ``post_user_message(files=[...])``."""
        owner = user or self.user_id("alice")
        fid = add_file(self.workspace, content, name, mimetype, owner, title=title)
        if channel:
            with self.workspace.changed:
                stored_file(self.workspace, fid).meta["channels"].append(channel)
        return file_info(self.workspace, fid)

    def serve_file_as(
        self, file_id: str, body: bytes, content_type: str = "text/html; charset=utf-8",
        status: int = 200,
    ) -> None:
        """Make authorised downloads of ``file_id`` answer this instead of its bytes."""
        with self.workspace.changed:
            stored_file(self.workspace, file_id).served_as = (status, content_type, body)

    def file_content(self, file_id: str) -> bytes:
        return stored_file(self.workspace, file_id).content

    def file_info(self, file_id: str) -> dict[str, Any]:
        return file_info(self.workspace, file_id)

    # -- calls and faults ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self.workspace.changed:
            return list(self.front.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def clear_calls(self) -> None:
        with self.workspace.changed:
            self.front.calls.clear()

    def fail_next(
        self, method: str, status: int = 429, *, retry_after: int | None = 1, times: int = 1,
        reset: bool = False,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``status`` (429 carries
        Retry-After) or, with ``reset=True``, drop the connection. ``method`` is a Web API
        method, "*" for any, or FILE_DOWNLOAD / FILE_UPLOAD / RESPONSE_URL."""
        self.front.fail_next(method, status, retry_after=retry_after, times=times, reset=reset)

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
        mention in a channel, ``message`` (channel_type "im") in a DM, nothing otherwise."""
        ws = self.workspace
        file_ids = [f if isinstance(f, str) else f["id"] for f in files or []]
        with ws.changed:
            cid = ws.resolve_channel(channel)
            kind = ws.channel_type(cid)
            msg = ws.post(cid, user, text, thread_ts=thread_ts, files=file_ids or None,
                          client_msg_id=str(uuid.uuid4()))
            for fid in file_ids:
                share_file(ws, fid, cid, msg["ts"], msg.get("thread_ts"))
        msg["channel"] = cid
        if kind == "im":
            event = payloads.message_event(msg, cid, "im")
        elif f"<@{BOT_USER_ID}>" in text:
            event = payloads.message_event(msg, cid, "app_mention")
        else:
            return Delivery(None, message=msg)
        return self._deliver_json(payloads.envelope(event), deliver, signing, msg)

    def add_reaction(
        self, user: str, channel: str, ts: str, name: str, *, deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        return self._react(user, channel, ts, name, True, deliver, signing)

    def remove_reaction(
        self, user: str, channel: str, ts: str, name: str, *, deliver: bool = True,
        signing: Signing = NOW,
    ) -> Delivery:
        return self._react(user, channel, ts, name, False, deliver, signing)

    def _react(
        self, user: str, channel: str, ts: str, name: str, add: bool, deliver: bool,
        signing: Signing,
    ) -> Delivery:
        cid = self.workspace.resolve_channel(channel)
        item_user = self.workspace.react(cid, ts, user, name, add=add)
        kind = "reaction_added" if add else "reaction_removed"
        event = payloads.reaction_event(kind, user, cid, ts, name, item_user)
        msg = {**self.workspace.message(cid, ts), "channel": cid}
        return self._deliver_json(payloads.envelope(event), deliver, signing, msg)

    def slash_command(
        self, user: str, channel: str, command: str = "/argot", text: str = "", *,
        deliver: bool = True, signing: Signing = NOW,
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
        self, user: str, channel: str, ts: str, action_id: str, value: str = "", *,
        block_id: str = "", deliver: bool = True, signing: Signing = NOW,
    ) -> Delivery:
        """A ``block_actions`` interaction on a button of the message at ``ts``."""
        ws = self.workspace
        cid = ws.resolve_channel(channel)
        msg = ws.message(cid, ts)
        key = uuid.uuid4().hex
        self.front.slash_contexts[key] = SlashContext(cid, user)
        action = {"type": "button", "action_id": action_id, "block_id": block_id,
                  "value": value, "text": {"type": "plain_text", "text": value}}
        payload = payloads.block_action_payload(
            ws.user(user), ws.channel_info(cid), msg, action, f"{self.base_url}response/{key}"
        )
        request = self._sender().build_form({"payload": json.dumps(payload)}, signing)
        return self._deliver(request, deliver, msg)

    def send_event(
        self, event: dict[str, Any], *, deliver: bool = True, signing: Signing = NOW
    ) -> Delivery:
        """Deliver any inner event (e.g. ``app_home_opened``) in a fresh envelope."""
        return self._deliver_json(payloads.envelope(event), deliver, signing, None)

    def url_verification(self, challenge: str | None = None) -> Delivery:
        """Slack's handshake when a request URL is saved; the bot must echo the challenge."""
        payload = payloads.url_verification_payload(challenge or uuid.uuid4().hex)
        return self._deliver_json(payload, True, NOW, None)

    def redeliver(
        self, delivery: Delivery, retry_num: int = 1, reason: str = "http_timeout"
    ) -> Delivery:
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
        self, payload: dict[str, Any], deliver: bool, signing: Signing,
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

    # -- reading and waiting -------------------------------------------------------------

    @property
    def version(self) -> int:
        return self.workspace.version

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Top-level messages of a channel, or the replies (without the parent) of a thread."""
        return readmodel.messages(self.workspace, channel, thread_ts)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return self.workspace.message(channel, ts)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict]:
        return readmodel.ephemerals(self.workspace, channel, user)

    def channel_history(self, channel: str, *, viewer: str | None = None) -> list[dict[str, Any]]:
        """Top-level messages, each with ``replies`` and reactions, plus the ephemerals
        ``viewer`` may see (all of them if None); JSON-serialisable, for a web page."""
        return readmodel.channel_history(self.workspace, channel, viewer)

    def snapshot(self) -> dict[str, Any]:
        """Team, users, channels and the current ``version``, for a web page."""
        return readmodel.snapshot(self.workspace)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Block until ``predicate()`` is truthy (re-checked on every change) and return it.

        The predicate runs under the workspace lock, so it sees a consistent state.
        Raises TimeoutError, naming ``what`` and the last calls, if it never holds.
        """
        deadline = time.monotonic() + timeout
        with self.workspace.changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [(c.method, c.params) for c in self.front.calls[-5:]]
                    raise TimeoutError(
                        f"Waited {timeout}s for {what or 'a condition'}; last calls: {recent}"
                    )
                self.workspace.changed.wait(remaining)

    def wait_for_messages(
        self, channel: str, thread_ts: str | None = None, count: int = 1, timeout: float = 10.0,
        *, user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until ``messages(channel, thread_ts)`` (from ``user``, if given) has at
        least ``count`` entries, and return them all."""

        def enough() -> list[dict[str, Any]]:
            found = [m for m in self.messages(channel, thread_ts) if user in (None, m["user"])]
            return found if len(found) >= count else []

        where = f"{channel} thread {thread_ts}" if thread_ts else channel
        return self.wait_for(enough, timeout, f"{count} message(s) in {where}")

    def wait_for_change(self, since_version: int, timeout: float = 30.0) -> int:
        """Long-poll helper: the new version once it differs from ``since_version``,
        or the same version after ``timeout``."""
        try:
            return self.wait_for(lambda: self.version if self.version != since_version else 0,
                                 timeout, "a change")
        except TimeoutError:
            return self.version
