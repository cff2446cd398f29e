"""Who the emulated team and bot are, and the one error type the Web API answers with."""

from __future__ import annotations

TEAM_ID = "T0ARGOT"
TEAM_NAME = "Argot Emulator"
TEAM_DOMAIN = "argot-emulator"
APP_ID = "A0ARGOT"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "argot"
BOT_TOKEN = "xoxb-argot-emulator-token"
SIGNING_SECRET = "argot-emulator-signing-secret"
VERIFICATION_TOKEN = "argot-emulator-verification-token"


class SlackError(Exception):
    """A Web API error code; the server answers it as ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code
