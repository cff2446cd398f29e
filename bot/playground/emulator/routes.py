"""Slack's HTTP surface: the Web API, file downloads, upload URLs and response_urls.

This is where the emulator behaves like the network rather than like the data:
it checks bearer tokens, records every call, and plays back faults (429 with
Retry-After, 5xx, connection resets) that tests queue with ``fail_next``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote

from . import webapi
from .constants import BOT_USER_ID, SlackError
from .files import stored_file
from .params import decode_json_fields
from .server import HttpRequest, HttpResponse, HttpServer
from .workspace import Workspace

# Pseudo-method names for calls that are not Web API methods, usable with fail_next/calls_to.
FILE_DOWNLOAD = "file:download"
FILE_UPLOAD = "file:upload"
RESPONSE_URL = "response_url"

SIGNIN_PAGE = """<!DOCTYPE html><html><head><title>Sign in | Slack</title></head>
<body><h1>Sign in to Argot Emulator</h1><form action="/signin" method="post">
<input type="email" name="email"><button>Sign in</button></form></body></html>"""


class Call(NamedTuple):
    """One request the bot made: the method (or pseudo-method), its parameters, when."""

    method: str
    params: dict[str, Any]
    timestamp: float


@dataclass
class Fault:
    status: int
    retry_after: int | None
    reset: bool


@dataclass
class SlashContext:
    """Who ran a slash command where, so posts to its response_url land in the right place."""

    channel: str
    user: str


class SlackFront:
    """Registers the Slack routes on an ``HttpServer`` and keeps calls and queued faults."""

    def __init__(self, ws: Workspace, tokens: set[str]) -> None:
        self.ws = ws
        self.tokens = tokens
        self.calls: list[Call] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._faults_lock = threading.Lock()
        self.slash_contexts: dict[str, SlashContext] = {}

    def install(self, server: HttpServer) -> None:
        server.route("*", "/api/", self.api)
        server.route("GET", "/files/", self.download)
        server.route("POST", "/upload/", self.upload)
        server.route("POST", "/response/", self.response_url)
        server.route("*", "/signin", lambda request: HttpResponse.html(SIGNIN_PAGE))

    # -- calls and faults ----------------------------------------------------------------

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self.ws.changed:
            self.calls.append(Call(method, params, time.time()))
            self.ws.changed.notify_all()

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = 1,
        times: int = 1,
        reset: bool = False,
    ) -> None:
        """Queue faults for the next ``times`` calls of ``method`` ("*": any Web API method)."""
        with self._faults_lock:
            queue = self._faults.setdefault(method, deque())
            queue.extend(Fault(status, retry_after if status == 429 else None, reset) for _ in range(times))

    def _take_fault(self, method: str) -> HttpResponse | None:
        with self._faults_lock:
            for key in (method, "*" if "." in method else None):
                queue = self._faults.get(key) if key else None
                if queue:
                    fault = queue.popleft()
                    break
            else:
                return None
        if fault.reset:
            return HttpResponse(reset=True)
        error = "ratelimited" if fault.status == 429 else "internal_error"
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return HttpResponse.json({"ok": False, "error": error}, fault.status, headers)

    # -- routes --------------------------------------------------------------------------

    def api(self, request: HttpRequest) -> HttpResponse:
        method = request.path.removeprefix("/api/")
        try:
            params = _params(request)
        except ValueError:
            return HttpResponse.json({"ok": False, "error": "invalid_json"})
        token = request.bearer_token() or params.pop("token", None)
        params.pop("token", None)
        self.record(method, decode_json_fields(params))
        fault = self._take_fault(method)
        if fault is not None:
            return fault
        if token not in self.tokens:
            return HttpResponse.json({"ok": False, "error": "invalid_auth"})
        return HttpResponse.json(webapi.call(self.ws, method, params))

    def download(self, request: HttpRequest) -> HttpResponse:
        """Serve file bytes only to the bot token; otherwise answer HTML, as Slack does."""
        file_id = request.path.removeprefix("/files/").split("/", 1)[0]
        token = request.bearer_token()
        self.record(FILE_DOWNLOAD, {"file": file_id, "authorized": token in self.tokens})
        fault = self._take_fault(FILE_DOWNLOAD)
        if fault is not None:
            return fault
        if token is None:
            location = f"{self.ws.base_url}signin?redir={quote(request.path)}"
            return HttpResponse.html(SIGNIN_PAGE, 302, {"Location": location})
        if token not in self.tokens:
            return HttpResponse.html(SIGNIN_PAGE, 403)
        try:
            stored = stored_file(self.ws, file_id)
        except SlackError:
            return HttpResponse.html("<html><body>File not found</body></html>", 404)
        if stored.served_as is not None:
            status, content_type, body = stored.served_as
            return HttpResponse(status, body, content_type)
        name = stored.meta["name"]
        return HttpResponse(
            200,
            stored.content,
            stored.meta["mimetype"],
            {"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def upload(self, request: HttpRequest) -> HttpResponse:
        """The upload_url from files.getUploadURLExternal: raw bytes or a multipart form."""
        file_id = request.path.removeprefix("/upload/").strip("/")
        content = _multipart_file(request) or request.body
        self.record(FILE_UPLOAD, {"file": file_id, "size": len(content)})
        fault = self._take_fault(FILE_UPLOAD)
        if fault is not None:
            return fault
        try:
            webapi.receive_upload(self.ws, file_id, content)
        except SlackError as exc:
            return HttpResponse.text(exc.code, 404)
        return HttpResponse.text(f"OK - {len(content)}")

    def response_url(self, request: HttpRequest) -> HttpResponse:
        key = request.path.removeprefix("/response/").strip("/")
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = None
        self.record(RESPONSE_URL, {"key": key, **(payload if isinstance(payload, dict) else {})})
        fault = self._take_fault(RESPONSE_URL)
        if fault is not None:
            return fault
        context = self.slash_contexts.get(key)
        if context is None:
            return HttpResponse.text("expired_url", 404)
        if not isinstance(payload, dict):
            return HttpResponse.text("invalid_payload", 400)
        record_response(self.ws, context, payload)
        return HttpResponse.text("ok")


def record_response(ws: Workspace, context: SlashContext, payload: dict[str, Any]) -> None:
    """Show a slash-command answer: in the channel, or only to its user (the default)."""
    text = str(payload.get("text") or "")
    if not text and not payload.get("blocks"):
        return
    fields = {"blocks": payload.get("blocks"), "thread_ts": payload.get("thread_ts")}
    if payload.get("response_type") == "in_channel":
        ws.post(context.channel, BOT_USER_ID, text, **fields)
    else:
        ws.add_ephemeral(context.channel, context.user, text, **fields)


def _params(request: HttpRequest) -> dict[str, Any]:
    """Query string plus the body, whichever way it was encoded; ValueError if unreadable."""
    params: dict[str, Any] = dict(request.query)
    content_type = (request.header("content-type") or "").lower()
    if "application/json" in content_type and request.body:
        body = json.loads(request.body)
        if isinstance(body, dict):
            params.update(body)
    elif "multipart/form-data" in content_type:
        params.update(_multipart_fields(request))
    elif request.body:
        params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
    return params


def _multipart_parts(request: HttpRequest) -> list[Any]:
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    return list(message.iter_parts()) if message.is_multipart() else []


def _multipart_fields(request: HttpRequest) -> dict[str, str]:
    return {
        part.get_param("name", header="content-disposition"): part.get_content()
        for part in _multipart_parts(request)
        if part.get_filename() is None
    }


def _multipart_file(request: HttpRequest) -> bytes | None:
    if "multipart/form-data" not in (request.header("content-type") or "").lower():
        return None
    for part in _multipart_parts(request):
        if part.get_filename() is not None:
            return bytes(part.get_payload(decode=True) or b"")
    return None
