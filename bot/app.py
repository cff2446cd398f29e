"""The Bolt app: a Web API client with retries, the services in every context, the handlers.

Every listener is an `ack` function that only acknowledges (or, for `/argot help`,
answers at once) plus `lazy=` functions that do the work. With
`process_before_response=True` the ack function runs on the request's own thread, so
Slack's acknowledgement never queues behind slow work, and the lazy functions run on
the listener pool. The same set-up serves HTTP mode and Socket Mode, and is what
Bolt's AWS Lambda adapter needs (there each lazy function is a fresh invocation).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

import handlers
from bot.services import Services
from bot.settings import Settings
from bot.slack_client import build_client
from handlers.context import provide_services

LISTENER_THREADS = 16
"""Lazy listeners run here after the ack; a question spends most of its time waiting
on Slack or the database, so more threads than cores keeps the queue short."""


class SameToken(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN (read from the environment) is unused when a client
    is given; it is the very token the client carries, so the warning only confuses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(settings: Settings, services: Services) -> App:
    """Calls auth.test once, so a wrong SLACK_BOT_TOKEN fails here, not on the first event."""
    logging.getLogger("slack_bolt.App").addFilter(SameToken())
    app = App(
        client=build_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="argot-listener"),
    )
    app.use(provide_services(services))
    handlers.register(app)
    return app
