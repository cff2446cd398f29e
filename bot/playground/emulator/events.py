"""Slack's side of the Events API: signed POSTs to the bot's request URL.

Signing follows Slack's v0 scheme exactly, so the bot's real verification code
(Bolt's, or slack_sdk's ``SignatureVerifier``) is what the tests exercise. A
request is built first and sent second, so a test can inspect it, forge it,
make it stale or resend it with retry headers and the same event_id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import httpx

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
STALE_SECONDS = 6 * 60  # Slack and Bolt reject signatures older than five minutes


def sign(secret: str, timestamp: int, body: str) -> str:
    """``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}``, as Slack signs requests."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Signing:
    """How to sign one request: validly now (the default), or wrongly on purpose.

    ``stale`` backdates the timestamp past Slack's five-minute window; ``forge`` signs
    with a wrong secret; ``retry_num`` adds the headers Slack sends when it redelivers.
    """

    timestamp: int | None = None
    stale: bool = False
    forge: bool = False
    retry_num: int | None = None
    retry_reason: str = "http_timeout"


NOW = Signing()


@dataclass(frozen=True)
class SignedRequest:
    """A request ready to POST to the bot; ``payload`` is what the body encodes."""

    url: str
    body: str
    headers: dict[str, str]
    payload: dict[str, Any]

    @property
    def event_id(self) -> str | None:
        return self.payload.get("event_id")


@dataclass
class Delivery:
    """What happened to one request: the bot's HTTP answer (``status`` None if not sent).

    ``message`` is the message or reaction target this delivery was about, when the
    emulator recorded one first (``post_user_message`` sets it), so ``delivery.ts``
    can be used as a thread_ts.
    """

    request: SignedRequest | None
    status: int | None = None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    message: dict[str, Any] | None = None

    @property
    def ts(self) -> str:
        if self.message is None:
            raise ValueError("This delivery carries no message.")
        return str(self.message["ts"])

    @property
    def event_id(self) -> str | None:
        return self.request.event_id if self.request else None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class EventSender:
    """Signs and POSTs payloads to the bot, synchronously, from the caller's thread."""

    def __init__(self, request_url: str, signing_secret: str, *, timeout: float = 10.0) -> None:
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.timeout = timeout

    def build_json(self, payload: dict[str, Any], signing: Signing = NOW) -> SignedRequest:
        return self.build(json.dumps(payload), JSON, payload, signing)

    def build_form(self, fields: dict[str, Any], signing: Signing = NOW) -> SignedRequest:
        return self.build(urlencode(fields), FORM, fields, signing)

    def build(
        self, body: str, content_type: str, payload: dict[str, Any], signing: Signing = NOW
    ) -> SignedRequest:
        """Sign ``body`` the way ``signing`` says (fresh and valid by default)."""
        timestamp = signing.timestamp
        if timestamp is None:
            timestamp = int(time.time()) - (STALE_SECONDS if signing.stale else 0)
        secret = self.signing_secret + ("-forged" if signing.forge else "")
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if signing.retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(signing.retry_num)
            headers["X-Slack-Retry-Reason"] = signing.retry_reason
        return SignedRequest(self.request_url, body, headers, payload)

    def resign(self, request: SignedRequest, signing: Signing = NOW) -> SignedRequest:
        """The same body (same event_id) signed afresh, e.g. as a retry or a forgery."""
        signed = self.build(request.body, request.headers["Content-Type"], request.payload, signing)
        return replace(signed, url=request.url)

    def send(self, request: SignedRequest) -> Delivery:
        """POST it and return the bot's answer; connection errors propagate (httpx)."""
        response = httpx.post(
            request.url,
            content=request.body.encode(),
            headers=request.headers,
            timeout=self.timeout,
        )
        return Delivery(request, response.status_code, response.text, dict(response.headers))
