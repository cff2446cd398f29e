"""Reading conversations through the Web API: every page, waiting out rate limits.

`conversations.history` and `conversations.replies` are Tier 3 methods (about 50 calls a
minute): a channel with a long history answers 429 with Retry-After, which is waited out
here however many times it comes (up to `MAX_WAITS` in a row), on top of any retries the
client itself makes. Pages follow `response_metadata.next_cursor` until it is empty.

Example:
    >>> thread = thread_messages(client, "C123", "1712.000100")   # root first
    >>> history = top_level_messages(client, "C123", oldest="1712.000100")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("argot.slack")

PAGE = 200
MAX_WAITS = 20
"""429s in a row before giving up on one call (each waits its Retry-After)."""
MAX_RETRY_AFTER = 120.0

Sleep = Callable[[float], None]


def call_waiting(call: Callable[..., Any], *, sleep: Sleep = time.sleep, **params: Any) -> Any:
    """One Web API call; a 429 is waited out (its Retry-After, default 1 s) and retried."""
    for _ in range(MAX_WAITS):
        try:
            return call(**params)
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                raise
            wait = retry_after(exc.response.headers)
            log.info("Slack rate-limited %s; waiting %.0f s", getattr(call, "__name__", "a call"),
                     wait)
            sleep(wait)
    return call(**params)


def retry_after(headers: Any) -> float:
    raw = None
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw)))
    except (TypeError, ValueError):
        return 1.0


def pages(call: Callable[..., Any], *, sleep: Sleep = time.sleep, **params: Any
          ) -> Iterator[list[dict[str, Any]]]:
    """The `messages` of each page of a cursor-paged method, in Slack's order."""
    cursor = ""
    while True:
        page = call_waiting(call, sleep=sleep, limit=PAGE, **params,
                            **({"cursor": cursor} if cursor else {}))
        yield list(page.get("messages") or [])
        cursor = ((page.get("response_metadata") or {}).get("next_cursor") or "").strip()
        if not cursor or not page.get("has_more", True):
            return


def thread_messages(client: WebClient, channel: str, ts: str, *, max_messages: int = 2000,
                    sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """The thread `ts` belongs to, root first, every page of it (at most `max_messages`;
    more than that and the caller's size cap refuses it anyway)."""
    messages: list[dict[str, Any]] = []
    for page in pages(client.conversations_replies, sleep=sleep, channel=channel, ts=ts):
        messages += page
        if len(messages) >= max_messages:
            break
    return sorted(messages, key=lambda m: float(m["ts"]))


def top_level_messages(client: WebClient, channel: str, *, oldest: str = "",
                       sleep: Sleep = time.sleep) -> list[dict[str, Any]]:
    """Top-level messages newer than `oldest` ("" for all), oldest first."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"channel": channel}
    if oldest:
        params.update(oldest=oldest, inclusive=False)
    for page in pages(client.conversations_history, sleep=sleep, **params):
        found += [m for m in page if m.get("thread_ts", m["ts"]) == m["ts"]
                  and (not oldest or float(m["ts"]) > float(oldest))]
    return sorted(found, key=lambda m: float(m["ts"]))


def permalink(client: WebClient, channel: str, ts: str, *, sleep: Sleep = time.sleep) -> str:
    return str(call_waiting(client.chat_getPermalink, sleep=sleep, channel=channel,
                            message_ts=ts)["permalink"])
