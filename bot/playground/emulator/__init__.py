"""A local emulation of Slack (Web API + Events API) for tests and the playground.

See ``core.SlackEmulator`` for the entry point; ``EventSender`` signs requests the
way Slack does and can be used on its own.
"""

from .constants import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    SlackError,
)
from .core import SlackEmulator
from .events import Delivery, EventSender, SignedRequest, Signing, sign
from .routes import FILE_DOWNLOAD, FILE_UPLOAD, RESPONSE_URL, Call
from .server import HttpRequest, HttpResponse

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "FILE_DOWNLOAD",
    "FILE_UPLOAD",
    "RESPONSE_URL",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Call",
    "Delivery",
    "EventSender",
    "HttpRequest",
    "HttpResponse",
    "SignedRequest",
    "Signing",
    "SlackEmulator",
    "SlackError",
    "sign",
]
