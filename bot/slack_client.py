"""The bot's Slack Web API client: the one place a `WebClient` is built.

The Bolt app answers with it and the learning job posts its report with it, so both
wait out rate limits and retry dropped connections the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.settings import Settings

TIMEOUT_SECONDS = 30
CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 3


def build_client(settings: Settings) -> WebClient:
    """A client for SLACK_BOT_TOKEN at SLACK_API_URL that waits out 429s (Retry-After)
    and retries dropped connections."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
    )

    return WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
                        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)])
