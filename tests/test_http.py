"""The one retry policy for the HTTP APIs Argot calls (embeddings, chat completions)."""

from __future__ import annotations

import httpx
import pytest

from engine.http import MAX_RETRY_AFTER, post_with_retries, retry_after


def client(answer) -> tuple[httpx.Client, list[httpx.Request]]:
    """A client whose every request is answered by `answer(request)`; the requests are kept."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    return httpx.Client(base_url="http://api.test/v1", transport=httpx.MockTransport(handle)), seen


def test_busy_answers_are_tried_again_until_one_gets_through() -> None:
    statuses = iter([429, 503, 200])
    http, seen = client(lambda request: httpx.Response(next(statuses), json={"ok": True}))
    response = post_with_retries(http, "/embeddings", {"input": ["hi"]}, max_retries=5,
                                 backoff_seconds=0)
    assert response.status_code == 200 and len(seen) == 3
    assert all(request.url.path == "/v1/embeddings" for request in seen)
    assert seen[0].content == b'{"input":["hi"]}'


def test_when_the_tries_run_out_the_last_busy_answer_comes_back() -> None:
    http, seen = client(lambda request: httpx.Response(500, text="oops"))
    response = post_with_retries(http, "/x", {}, max_retries=2, backoff_seconds=0)
    assert response.status_code == 500 and len(seen) == 3


def test_a_refusal_is_not_tried_again() -> None:
    http, seen = client(lambda request: httpx.Response(401, text="no key"))
    assert post_with_retries(http, "/x", {}, max_retries=5, backoff_seconds=0).status_code == 401
    assert len(seen) == 1


def test_connection_errors_are_tried_again_then_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    http, seen = client(refuse)
    with pytest.raises(httpx.ConnectError, match="refused"):
        post_with_retries(http, "/x", {}, max_retries=1, backoff_seconds=0)
    assert len(seen) == 2


def test_retry_after_is_obeyed_up_to_a_minute() -> None:
    def answer(value: str | None) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value} if value else {})

    assert retry_after(answer("2"), fallback=0.5) == 2.0
    assert retry_after(answer("3600"), fallback=0.5) == MAX_RETRY_AFTER
    assert retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT"), fallback=0.5) == 0.5
    assert retry_after(answer(None), fallback=0.5) == 0.5
