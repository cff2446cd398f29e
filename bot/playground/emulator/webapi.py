"""The Web API methods a Bolt bot calls, answered from the workspace like Slack would.

Each method is a function ``(workspace, params) -> dict`` registered in ``METHODS``.
Parameters arrive either form-encoded (every value a string; structured ones such
as ``blocks`` or ``metadata`` as JSON strings) or as a JSON body (real types), and
``Params`` hides that difference so each method reads like Slack's docs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .constants import (
    APP_ID,
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    SlackError,
)
from .files import PendingUpload, add_file, file_info, share_file, stored_file
from .params import Params, page
from .views import METHODS as VIEW_METHODS
from .workspace import Workspace


def _messages_page(messages: list[dict[str, Any]], p: Params) -> dict[str, Any]:
    items, cursor = page(messages, p)
    metadata = {"next_cursor": cursor}
    return {"messages": items, "has_more": bool(cursor), "response_metadata": metadata}


def _metadata(p: Params) -> dict[str, Any] | None:
    metadata = p.json("metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackError("invalid_metadata_format")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise SlackError("invalid_metadata_format")
    return metadata


def _content(p: Params) -> dict[str, Any]:
    blocks = p.json("blocks", "invalid_blocks")
    attachments = p.json("attachments", "invalid_attachments")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks")
    return {"blocks": blocks, "attachments": attachments}


def auth_test(ws: Workspace, p: Params) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, p: Params) -> dict[str, Any]:
    target = p.need("channel", "channel_not_found")
    # A user id posts in the bot's DM with that person (the app's Messages tab), as in Slack.
    channel = ws.dm(target) if target in ws.users else ws.resolve_channel(target)
    text = p.text("text", "") or ""
    content = _content(p)
    if not text and not content["blocks"] and not content["attachments"]:
        raise SlackError("no_text")
    with ws.changed:
        thread_ts = p.text("thread_ts")
        if thread_ts:
            try:
                ws.find(channel, thread_ts)
            except SlackError as exc:
                raise SlackError("thread_not_found") from exc
        msg = ws.post(channel, BOT_USER_ID, text, thread_ts=thread_ts, metadata=_metadata(p), **content)
    return {"channel": channel, "ts": msg["ts"], "message": msg}


def chat_post_ephemeral(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = ws.resolve_channel(p.need("channel", "channel_not_found"))
    user = p.need("user", "user_not_found")
    ws.user(user)
    text = p.text("text", "") or ""
    content = _content(p)
    if not text and not content["blocks"] and not content["attachments"]:
        raise SlackError("no_text")
    eph = ws.add_ephemeral(channel, user, text, thread_ts=p.text("thread_ts"), **content)
    return {"message_ts": eph["ts"]}


def chat_update(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = ws.resolve_channel(p.need("channel", "channel_not_found"))
    ts = p.need("ts", "message_not_found")
    fields = {"text": p.text("text"), "metadata": _metadata(p), **_content(p)}
    msg = ws.update(channel, ts, BOT_USER_ID, **fields)
    return {"channel": channel, "ts": ts, "text": msg["text"], "message": msg}


def chat_get_permalink(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = ws.resolve_channel(p.need("channel", "channel_not_found"))
    msg = ws.message(channel, p.need("message_ts", "message_not_found"))
    link = f"{ws.base_url}archives/{channel}/p{msg['ts'].replace('.', '')}"
    if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
        link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
    return {"channel": channel, "permalink": link}


def _reaction(ws: Workspace, p: Params, *, add: bool) -> dict[str, Any]:
    channel = ws.resolve_channel(p.need("channel", "channel_not_found"))
    ts = p.need("timestamp", "no_item_specified")
    ws.react(channel, ts, BOT_USER_ID, p.need("name", "invalid_name").strip(":"), add=add)
    return {}


def conversations_info(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"channel": ws.channel_info(p.need("channel", "channel_not_found"))}


def conversations_open(ws: Workspace, p: Params) -> dict[str, Any]:
    users = [u for u in (p.text("users") or "").split(",") if u and u != BOT_USER_ID]
    if len(users) != 1:
        raise SlackError("not_enough_users" if not users else "too_many_users")
    return {"channel": {"id": ws.dm(users[0])}}


def _readable(ws: Workspace, channel: str) -> str:
    """The channel id, if the bot may read it: a member, as Slack requires for history."""
    cid = ws.resolve_channel(channel)
    with ws.changed:
        if BOT_USER_ID not in ws.channels[cid].get("members", []):
            raise SlackError("not_in_channel")
    return cid


def _in_range(ts: str, p: Params) -> bool:
    """`oldest` / `latest` bounds, exclusive unless `inclusive` (as Slack reads them)."""
    inclusive = p.flag("inclusive")
    oldest, latest = p.text("oldest"), p.text("latest")
    if oldest and (float(ts) < float(oldest) or (not inclusive and ts == oldest)):
        return False
    return not (latest and (float(ts) > float(latest) or (not inclusive and ts == latest)))


def conversations_replies(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _readable(ws, p.need("channel", "channel_not_found"))
    ts = p.need("ts", "thread_not_found")
    with_metadata = p.flag("include_all_metadata")
    with ws.changed:
        root = ws.find(channel, ts)
        root_ts = root.get("thread_ts", root["ts"])
        thread = [m for m in ws.messages[channel] if m.get("thread_ts", m["ts"]) == root_ts]
        rendered = [ws.render(m, with_metadata=with_metadata) for m in thread]
    return _messages_page(rendered, p)


def conversations_history(ws: Workspace, p: Params) -> dict[str, Any]:
    channel = _readable(ws, p.need("channel", "channel_not_found"))
    with_metadata = p.flag("include_all_metadata")
    with ws.changed:
        top = [m for m in ws.messages[channel]
               if m.get("thread_ts", m["ts"]) == m["ts"] and _in_range(m["ts"], p)]
        rendered = [ws.render(m, with_metadata=with_metadata) for m in reversed(top)]
    return _messages_page(rendered, p)


def conversations_list(ws: Workspace, p: Params) -> dict[str, Any]:
    """Public and private channels the bot can see (`types` filters), paged."""
    types = set((p.text("types") or "public_channel").split(","))
    with ws.changed:
        found = [ws.channel_info(cid) for cid, ch in ws.channels.items()
                 if not ch["is_im"] and ("private_channel" if ch["is_private"] else "public_channel") in types
                 and (not ch["is_private"] or BOT_USER_ID in ch["members"])]
    items, cursor = page(found, p)
    return {"channels": items, "response_metadata": {"next_cursor": cursor}}


def users_info(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"user": ws.user(p.need("user", "user_not_found"))}


def files_info(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"file": file_info(ws, p.need("file", "file_not_found")), "comments": []}


def files_get_upload_url_external(ws: Workspace, p: Params) -> dict[str, Any]:
    filename = p.need("filename", "invalid_arguments")
    length = p.number("length", -1)
    if length < 0:
        raise SlackError("invalid_arguments")
    fid = ws.new_id("F")
    with ws.changed:
        ws.uploads[fid] = PendingUpload(fid, filename, length, extra={"alt_txt": p.text("alt_txt")})
    return {"upload_url": f"{ws.base_url}upload/{fid}", "file_id": fid}


def files_complete_upload_external(ws: Workspace, p: Params) -> dict[str, Any]:
    """Turn uploaded bytes into files and, given a channel, share them as one bot message."""
    entries = p.json("files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise SlackError("invalid_arguments")
    channels = p.raw.get("channels") or p.text("channel_id") or ""
    channel_ids = channels if isinstance(channels, list) else [c for c in channels.split(",") if c]
    with ws.changed:
        done = []
        for entry in entries:
            upload = ws.uploads.get(str(entry.get("id")))
            if upload is None or upload.content is None:
                raise SlackError("file_not_found")
            title = entry.get("title") or upload.filename
            add_file(
                ws, upload.content, upload.filename, None, BOT_USER_ID, title=title, file_id=upload.file_id
            )
            del ws.uploads[upload.file_id]
            done.append({"id": upload.file_id, "title": title})
        thread_ts = p.text("thread_ts")
        for channel in channel_ids:
            cid = ws.resolve_channel(channel)
            msg = ws.post(
                cid,
                BOT_USER_ID,
                p.text("initial_comment", "") or "",
                thread_ts=thread_ts,
                files=[f["id"] for f in done],
                upload=True,
                blocks=_content(p)["blocks"],
            )
            for f in done:
                share_file(ws, f["id"], cid, msg["ts"], msg.get("thread_ts"))
    return {"files": done}


def receive_upload(ws: Workspace, file_id: str, content: bytes) -> None:
    """The bytes POSTed to an upload_url; stored until files.completeUploadExternal."""
    with ws.changed:
        if file_id not in ws.uploads:
            stored_file(ws, file_id)  # raises file_not_found for unknown ids
            raise SlackError("already_completed")
        ws.uploads[file_id].content = content


METHODS: dict[str, Callable[[Workspace, Params], dict[str, Any]]] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.getPermalink": chat_get_permalink,
    "reactions.add": lambda ws, p: _reaction(ws, p, add=True),
    "reactions.remove": lambda ws, p: _reaction(ws, p, add=False),
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "conversations.list": conversations_list,
    **VIEW_METHODS,
    "users.info": users_info,
    "files.info": files_info,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}


def call(ws: Workspace, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Answer one authorised Web API call as Slack's JSON: ``ok`` first, then the fields."""
    handler = METHODS.get(method)
    if handler is None:
        return {"ok": False, "error": "unknown_method"}
    try:
        return {"ok": True, **handler(ws, Params(params))}
    except SlackError as exc:
        return {"ok": False, "error": exc.code}
