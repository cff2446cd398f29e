"""Posting JSON to an OpenAI-compatible endpoint, riding out its busy moments.

`post_with_retries` is the one retry policy for the HTTP APIs Argot calls (embeddings,
chat completions): a dropped connection or a timeout, a 429 and a 5xx are tried again
with exponential backoff, waiting as long as the server's Retry-After says (up to a
minute) when it says; any other answer comes back at once. When the tries are spent it
returns the last answer, or raises the last connection error, so each caller words the
failure in its own terms.

Example:
    >>> response = post_with_retries(http, "/embeddings", {"model": "m", "input": ["hi"]},
    ...                              max_retries=5, backoff_seconds=0.5)
    >>> response.status_code
    200
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0
"""The longest a server's Retry-After is obeyed, in seconds."""


def transient(response: httpx.Response) -> bool:
    """A 429 or a 5xx: the server may well answer the same request a moment later."""
    return response.status_code == 429 or response.status_code >= 500


def retry_after(response: httpx.Response | None, fallback: float) -> float:
    """The server's Retry-After in seconds (capped), else `fallback`."""
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), MAX_RETRY_AFTER) if value else fallback
    except ValueError:  # an HTTP date: rare enough to fall back to our own backoff
        return fallback


def post_with_retries(http: httpx.Client, path: str, body: dict[str, Any], *,
                      max_retries: int, backoff_seconds: float) -> httpx.Response:
    """POST `body` as JSON to `path`, tried up to `max_retries + 1` times.

    Args:
        http: the client (its base URL, headers and timeout apply).
        path: below the client's base URL, e.g. "/embeddings".
        body: the JSON body.
        max_retries: tries after the first; 0 tries once.
        backoff_seconds: the first wait; each later one doubles it.

    Returns:
        The first answer that is not a 429 or 5xx, or the last answer when every try got one.

    Raises:
        httpx.TransportError: every try failed to connect or timed out (the last error).
    """
    import httpx

    def wait(state: RetryCallState) -> float:
        fallback = backoff_seconds * 2 ** (state.attempt_number - 1)
        outcome = state.outcome
        return fallback if outcome is None or outcome.failed else retry_after(outcome.result(), fallback)

    def again(state: RetryCallState) -> None:
        outcome = state.outcome
        problem = (outcome.exception() if outcome is not None and outcome.failed
                   else f"HTTP {outcome.result().status_code}" if outcome is not None else "?")
        log.info("POST %s%s: %s; trying again in %.1f s", http.base_url, path.lstrip("/"), problem,
                 state.upcoming_sleep)

    retrying = Retrying(
        retry=retry_if_exception_type(httpx.TransportError) | retry_if_result(transient),
        stop=stop_after_attempt(max_retries + 1),
        wait=wait,
        before_sleep=again,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    return retrying(http.post, path, json=body)
