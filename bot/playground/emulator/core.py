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

import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import readmodel
from .constants import BOT_TOKEN, SIGNING_SECRET
from .events import EventSender
from .files import add_file, file_info, note_channel, stored_file
from .humans import HumanActions
from .routes import Call, SlackFront
from .server import HttpServer, Route
from .surfaces import SurfaceActions
from .workspace import Workspace

T = TypeVar("T")


class SlackEmulator(HumanActions, SurfaceActions):
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

    def add_channel(self, name: str, *, private: bool = False, members: list[str] | None = None) -> str:
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
        user: str | None = None,
        channel: str | None = None,
        *,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Store a file a human uploaded (``user``, default alice) and return the Slack file
        object, to attach with ``post_user_message(files=[...])``. The mimetype defaults
        from the name; ``channel`` lists the file there before any message shares it."""
        owner = user or self.user_id("alice")
        fid = add_file(self.workspace, content, name, mimetype, owner, title=title)
        if channel:
            note_channel(self.workspace, fid, channel)
        return file_info(self.workspace, fid)

    def serve_file_as(
        self,
        file_id: str,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
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
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        reset: bool = False,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with ``status`` (429 carries
        Retry-After) or, with ``reset=True``, drop the connection. ``method`` is a Web API
        method, "*" for any, or FILE_DOWNLOAD / FILE_UPLOAD / RESPONSE_URL."""
        self.front.fail_next(method, status, retry_after=retry_after, times=times, reset=reset)

    # -- reading and waiting -------------------------------------------------------------

    @property
    def revision(self) -> int:
        """A change counter: it grows with every visible change to the workspace."""
        return self.workspace.revision

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Top-level messages of a channel, or the replies (without the parent) of a thread."""
        return readmodel.messages(self.workspace, channel, thread_ts)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return self.workspace.message(channel, ts)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        return readmodel.ephemerals(self.workspace, channel, user)

    def channel_history(self, channel: str, *, viewer: str | None = None) -> list[dict[str, Any]]:
        """Top-level messages, each with ``replies`` and reactions, plus the ephemerals
        ``viewer`` may see (all of them if None); JSON-serialisable, for a web page."""
        return readmodel.channel_history(self.workspace, channel, viewer)

    def snapshot(self) -> dict[str, Any]:
        """Team, users, channels and the current ``revision``, for a web page."""
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
                    raise TimeoutError(f"Waited {timeout}s for {what or 'a condition'}; last calls: {recent}")
                self.workspace.changed.wait(remaining)

    def wait_for_messages(
        self,
        channel: str,
        thread_ts: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
        *,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Wait until ``messages(channel, thread_ts)`` (from ``user``, if given) has at
        least ``count`` entries, and return them all."""

        def enough() -> list[dict[str, Any]]:
            found = [m for m in self.messages(channel, thread_ts) if user in (None, m["user"])]
            return found if len(found) >= count else []

        where = f"{channel} thread {thread_ts}" if thread_ts else channel
        return self.wait_for(enough, timeout, f"{count} message(s) in {where}")

    def wait_for_change(self, since_revision: int, timeout: float = 30.0) -> int:
        """Long-poll helper: the new revision once it differs from ``since_revision``,
        or the same revision after ``timeout``."""
        try:
            return self.wait_for(
                lambda: self.revision if self.revision != since_revision else 0, timeout,
                "a change"
            )
        except TimeoutError:
            return self.revision
