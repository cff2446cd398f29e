"""What a person sees when answering fails: a short reply, never a silent bot.

The event was already acknowledged (Slack will not retry it); the error is logged
with engine messages, which mask database passwords and never contain Slack tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk.errors import SlackApiError

from engine.errors import ArgotError, QueryError
from engine.feedback import FeedbackUnavailable
from engine.knowledge.glossary import GlossaryError
from handlers.blocks import SOMETHING_WRONG, TRY_AGAIN

log = logging.getLogger("argot.handlers")

Notify = Callable[[str], Any]


@contextmanager
def reported(notify: Notify, what: str) -> Iterator[None]:
    """Run a handler's work; on failure log it and tell the person with `notify`."""
    try:
        yield
    except FeedbackUnavailable as exc:
        log.error("%s failed: %s", what, exc)
        tell(notify, TRY_AGAIN)
    except (QueryError, GlossaryError) as exc:
        tell(notify, str(exc))
    except ArgotError as exc:
        log.error("%s failed: %s", what, exc)
        tell(notify, SOMETHING_WRONG)
    except SlackApiError as exc:
        # Slack itself refused (after the client's own retries); telling the person
        # would most likely fail the same way.
        log.error("%s failed: Slack answered %s", what, exc.response.get("error"))
    except Exception:
        log.exception("%s failed", what)
        tell(notify, SOMETHING_WRONG)


def tell(notify: Notify, text: str) -> None:
    try:
        notify(text)
    except Exception as exc:  # the reply is a courtesy; never let it mask the first error
        log.warning("could not tell the person what went wrong: %s", exc)
