"""Files in the emulated workspace: their Slack metadata, their bytes, where they were shared.

Download URLs are computed when a file is read, not when it is stored, because a
file may be added before the server knows its port.
"""

from __future__ import annotations

import copy
import mimetypes
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .constants import TEAM_ID, SlackError

if TYPE_CHECKING:
    from .workspace import Workspace

# Slack's `filetype` is a short name, not always the extension.
_FILETYPES = {"txt": "text", "md": "markdown", "jpeg": "jpg", "htm": "html", "yml": "yaml"}


@dataclass
class StoredFile:
    """A file's Slack metadata plus its bytes, and an optional fake answer for downloads."""

    meta: dict[str, Any]
    content: bytes
    # When set, downloads answer this (status, content type, body) instead of the bytes,
    # e.g. an HTML page, which is what a misconfigured real download gets.
    served_as: tuple[int, str, bytes] | None = None


@dataclass
class PendingUpload:
    """A file announced by files.getUploadURLExternal, waiting for its bytes."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def filetype_for(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
    return _FILETYPES.get(ext, ext)


def mimetype_for(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def add_file(
    ws: Workspace,
    content: bytes,
    name: str,
    mimetype: str | None,
    user: str,
    *,
    title: str | None = None,
    file_id: str | None = None,
) -> str:
    """Store a file owned by ``user`` and return its id; the mimetype defaults from the name."""
    with ws.changed:
        ws.user(user)
        fid = file_id or ws.new_id("F")
        now = int(time.time())
        ftype = filetype_for(name)
        ws.files[fid] = StoredFile(
            meta={
                "id": fid,
                "created": now,
                "timestamp": now,
                "name": name,
                "title": title or name,
                "mimetype": mimetype or mimetype_for(name),
                "filetype": ftype,
                "pretty_type": ftype.upper(),
                "user": user,
                "user_team": TEAM_ID,
                "editable": False,
                "size": len(content),
                "mode": "hosted",
                "is_external": False,
                "external_type": "",
                "is_public": True,
                "public_url_shared": False,
                "display_as_bot": False,
                "username": "",
                "shares": {},
                "channels": [],
                "groups": [],
                "ims": [],
            },
            content=content,
        )
        ws.touch()
        return fid


def stored_file(ws: Workspace, file_id: str) -> StoredFile:
    with ws.changed:
        if file_id not in ws.files:
            raise SlackError("file_not_found")
        return ws.files[file_id]


def file_info(ws: Workspace, file_id: str) -> dict[str, Any]:
    """The Slack file object, with download URLs pointing at this emulator."""
    with ws.changed:
        meta = copy.deepcopy(stored_file(ws, file_id).meta)
    url = f"{ws.base_url}files/{file_id}/{meta['name']}"
    meta["url_private"] = url
    meta["url_private_download"] = url
    meta["permalink"] = f"{ws.base_url}files/{file_id}/{meta['name']}?permalink=1"
    return meta


def note_channel(ws: Workspace, file_id: str, channel: str) -> str:
    """List the file under the channel's kind (`channels`, `groups` or `ims`); returns its id."""
    with ws.changed:
        meta = stored_file(ws, file_id).meta
        cid = ws.resolve_channel(channel)
        key = {"channel": "channels", "group": "groups", "im": "ims"}[ws.channel_type(cid)]
        if cid not in meta[key]:
            meta[key].append(cid)
        ws.touch()
        return cid


def share_file(ws: Workspace, file_id: str, channel: str, ts: str, thread_ts: str | None) -> None:
    """Note where a file was shared, as files.info's `shares` and channel lists show it."""
    with ws.changed:
        cid = note_channel(ws, file_id, channel)
        visibility = "public" if ws.channel_type(cid) == "channel" else "private"
        share: dict[str, Any] = {"ts": ts, "channel_name": ws.channels[cid].get("name", "")}
        if thread_ts:
            share["thread_ts"] = thread_ts
        meta = stored_file(ws, file_id).meta
        meta["shares"].setdefault(visibility, {}).setdefault(cid, []).append(share)
        ws.touch()
