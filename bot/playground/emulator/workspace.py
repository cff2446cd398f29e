"""The state of a tiny Slack workspace: users, channels, messages, files, reactions.

Everything the emulator knows lives here, behind one lock, so the HTTP server
threads, the test thread and a web page can read and write it concurrently.
Readers always get deep copies shaped like Slack's own JSON, never live objects:
a test that mutates what it read cannot corrupt the workspace.

Every change bumps ``revision`` (a change counter) and wakes ``changed`` (a ``threading.Condition``),
which is what ``wait_for`` and a long-polling web page block on instead of sleeping.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from .constants import APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, SlackError
from .files import PendingUpload, StoredFile, file_info


class Workspace:
    """One team, one bot, some humans; thread-safe, every read is a copy."""

    def __init__(self) -> None:
        self.changed = threading.Condition(threading.RLock())
        self.revision = 0
        self.base_url = "http://127.0.0.1:0/"  # set by the server once it has a port
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.files: dict[str, StoredFile] = {}
        self.uploads: dict[str, PendingUpload] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self._counters: dict[str, int] = {}
        self._last_us = 0
        self.add_user(BOT_NAME, real_name="Argot", user_id=BOT_USER_ID, bot_id=BOT_ID)

    # -- ids, timestamps, change notification -------------------------------------------

    def new_id(self, prefix: str) -> str:
        with self.changed:
            n = self._counters.get(prefix, 0) + 1
            self._counters[prefix] = n
            return f"{prefix}{n:04d}"

    def next_ts(self) -> str:
        """A unique, strictly increasing message ts, like Slack's "seconds.micros"."""
        with self.changed:
            self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
            return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def touch(self) -> None:
        """Record that something visible changed and wake every waiter."""
        with self.changed:
            self.revision += 1
            self.changed.notify_all()

    # -- users and channels ---------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        real_name: str | None = None,
        user_id: str | None = None,
        bot_id: str | None = None,
        is_admin: bool = False,
        email: str | None = None,
    ) -> str:
        with self.changed:
            uid = user_id or self.new_id("U")
            real = real_name or name.capitalize()
            profile: dict[str, Any] = {
                "real_name": real,
                "display_name": name,
                "email": email or f"{name}@{TEAM_DOMAIN}.example",
                "image_48": "",
                "team": TEAM_ID,
            }
            if bot_id:
                profile["bot_id"] = bot_id
            self.users[uid] = {
                "id": uid,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real,
                "deleted": False,
                "is_bot": bot_id is not None,
                "is_admin": is_admin,
                "is_app_user": False,
                "tz": "Europe/London",
                "tz_offset": 0,
                "profile": profile,
            }
            self.touch()
            return uid

    def add_channel(self, name: str, *, private: bool = False, members: list[str] | None = None) -> str:
        with self.changed:
            cid = self.new_id("G" if private else "C")
            self.channels[cid] = {
                "id": cid,
                "name": name,
                "is_channel": not private,
                "is_group": private,
                "is_im": False,
                "is_mpim": False,
                "is_private": private,
                "is_archived": False,
                "is_general": name == "general",
                "created": int(time.time()),
                "creator": next(iter(members or []), BOT_USER_ID),
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
                "members": list(dict.fromkeys([*(members or self.users), BOT_USER_ID])),
            }
            self.messages[cid] = []
            self.touch()
            return cid

    def dm(self, user: str) -> str:
        """The DM channel between ``user`` and the bot, created on first use."""
        with self.changed:
            self.user(user)
            for cid, ch in self.channels.items():
                if ch["is_im"] and ch["user"] == user:
                    return cid
            cid = self.new_id("D")
            self.channels[cid] = {
                "id": cid,
                "is_channel": False,
                "is_group": False,
                "is_im": True,
                "is_mpim": False,
                "is_private": True,
                "is_archived": False,
                "created": int(time.time()),
                "user": user,
                "is_user_deleted": False,
                "members": [user, BOT_USER_ID],
            }
            self.messages[cid] = []
            self.touch()
            return cid

    def user(self, user_id: str) -> dict[str, Any]:
        with self.changed:
            if user_id not in self.users:
                raise SlackError("user_not_found")
            return copy.deepcopy(self.users[user_id])

    def resolve_channel(self, ref: str) -> str:
        """A channel id from an id or a "#name"/"name", as chat.postMessage accepts both."""
        with self.changed:
            if ref in self.channels:
                return ref
            name = ref.lstrip("#")
            for cid, ch in self.channels.items():
                if ch.get("name") == name:
                    return cid
            raise SlackError("channel_not_found")

    def channel_type(self, channel: str) -> str:
        """The Events API `channel_type`: "channel", "group" or "im"."""
        ch = self.channels[self.resolve_channel(channel)]
        return "im" if ch["is_im"] else "group" if ch["is_private"] else "channel"

    def channel_info(self, channel: str) -> dict[str, Any]:
        with self.changed:
            ch = copy.deepcopy(self.channels[self.resolve_channel(channel)])
            members = ch.pop("members")
            ch["is_member"] = BOT_USER_ID in members
            ch["num_members"] = len(members)
            return ch

    # -- messages ------------------------------------------------------------------------

    def post(
        self,
        channel: str,
        user: str,
        text: str = "",
        *,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a message and return a rendered copy; replies update their parent's thread."""
        with self.changed:
            cid = self.resolve_channel(channel)
            author = self.user(user)
            msg: dict[str, Any] = {"type": "message", "ts": self.next_ts(), "user": user}
            if author["is_bot"]:
                msg.update(bot_id=author["profile"]["bot_id"], app_id=APP_ID)
            msg["text"] = text
            msg["team"] = TEAM_ID
            msg.update({k: v for k, v in extra.items() if v is not None})
            if thread_ts:
                parent = self.find(cid, thread_ts)
                root_ts = parent.get("thread_ts", parent["ts"])
                parent = self.find(cid, root_ts)
                msg["thread_ts"] = root_ts
                msg["parent_user_id"] = parent["user"]
                parent["thread_ts"] = root_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if user not in users:
                    users.append(user)
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = msg["ts"]
            self.messages[cid].append(msg)
            self.touch()
            return self.render(msg, with_metadata=True)

    def find(self, channel: str, ts: str) -> dict[str, Any]:
        """The live message (callers hold the lock); raises message_not_found."""
        with self.changed:
            for msg in self.messages.get(self.resolve_channel(channel), []):
                if msg["ts"] == ts:
                    return msg
            raise SlackError("message_not_found")

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self.changed:
            return self.render(self.find(channel, ts), with_metadata=True)

    def update(self, channel: str, ts: str, editor: str, **fields: Any) -> dict[str, Any]:
        with self.changed:
            msg = self.find(channel, ts)
            if msg["user"] != editor:
                raise SlackError("cant_update_message")
            msg.update({k: v for k, v in fields.items() if v is not None})
            msg["edited"] = {"user": editor, "ts": self.next_ts()}
            self.touch()
            return self.render(msg, with_metadata=True)

    def react(self, channel: str, ts: str, user: str, name: str, *, add: bool = True) -> str:
        """Add or remove one user's reaction; returns the reacted message's author."""
        with self.changed:
            msg = self.find(channel, ts)
            reactions = msg.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if add:
                if entry and user in entry["users"]:
                    raise SlackError("already_reacted")
                if entry is None:
                    entry = {"name": name, "users": [], "count": 0}
                    reactions.append(entry)
                entry["users"].append(user)
            else:
                if entry is None or user not in entry["users"]:
                    raise SlackError("no_reaction")
                entry["users"].remove(user)
            if entry is not None:
                entry["count"] = len(entry["users"])
                if not entry["users"]:
                    reactions.remove(entry)
            if not reactions:
                msg.pop("reactions")
            self.touch()
            return str(msg["user"])

    def add_ephemeral(self, channel: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
        with self.changed:
            eph = {
                "type": "message",
                "ephemeral": True,
                "visible_to": user,
                "channel": self.resolve_channel(channel),
                "ts": self.next_ts(),
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": text,
            }
            eph.update({k: v for k, v in extra.items() if v is not None})
            self.ephemerals.append(eph)
            self.touch()
            return copy.deepcopy(eph)

    def render(self, msg: dict[str, Any], *, with_metadata: bool) -> dict[str, Any]:
        """A copy as the Web API shows it: file ids expanded, metadata only when asked."""
        out = copy.deepcopy(msg)
        if "files" in out:
            out["files"] = [file_info(self, fid) for fid in out["files"]]
        if not with_metadata:
            out.pop("metadata", None)
        return out
