"""`Playground`: the emulator, the real Bolt app in HTTP mode, and the page, wired together.

The Bolt app is built exactly as `argot serve --http` builds it (`bot.app.build_app`);
only the three Slack settings change: the emulator's bot token and signing secret, and
its Web API URL. The token and the secret are drawn at random for each run, so no other
program on the machine (or web page in the browser) can post as the bot or send it
events. The emulator serves the page on its own port, so one URL is all a newcomer needs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.app import build_app
from bot.playground.emulator import SlackEmulator
from bot.playground.learning import LearningRuns
from bot.playground.page import PageRoutes
from bot.playground.team import TeamRuns
from bot.serving import HttpBot

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.services import Services

CHANNEL = "general"
PERSON = "alice"


class Playground:
    """One Slack channel on 127.0.0.1, with the real bot in it.

    Example:
        >>> with Playground(services, port=8765) as playground:
        ...     print(playground.url)   # open it in a browser

    Args:
        services: the bot's services (index, feedback store, models).
        port: where the page and the emulated Slack listen; 0 picks a free port.
        learning: the learning runner behind "learn now" (tests pass their own).
        team: makes the runner behind "Let the team rate" for this playground (tests pass
            one with their own team).
    """

    def __init__(self, services: Services, *, port: int = 0,
                 learning: LearningRuns | None = None,
                 team: Callable[[Playground], TeamRuns] = TeamRuns) -> None:
        self.services = services
        self.bot_token = f"xoxb-playground-{secrets.token_urlsafe(24)}"
        self.signing_secret = secrets.token_hex(32)
        self.slack = SlackEmulator(port=port, bot_token=self.bot_token,
                                   signing_secret=self.signing_secret)
        self.app: App | None = None
        self.learning = learning or LearningRuns(services, client=lambda: self.app and self.app.client)
        self.http: HttpBot | None = None
        self.team = team(self)
        PageRoutes(self).install(self.slack)

    @property
    def channel(self) -> str:
        return self.slack.channel_id(CHANNEL)

    @property
    def person(self) -> str:
        """Who the page's visitor is in the emulated workspace."""
        return self.slack.user_id(PERSON)

    @property
    def url(self) -> str:
        return self.slack.base_url

    def start(self) -> Playground:
        """Start the emulator, then the bot (its `auth.test` needs the emulator up).

        Raises OSError when the port is taken."""
        self.slack.start()
        # The services are this bot's for the playground's life; handlers read the Slack
        # settings from them too (the image handler downloads only from SLACK_API_URL's host).
        self.services.settings = replace(
            self.services.settings, slack_bot_token=self.bot_token,
            slack_signing_secret=self.signing_secret, slack_api_url=self.slack.api_url)
        try:
            self.app = build_app(self.services.settings, self.services)
            self.http = HttpBot(self.app, host="127.0.0.1", port=0).start()
        except BaseException:
            self.slack.stop()
            raise
        self.slack.connect(self.http.events_url, self.signing_secret)
        return self

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None
        self.slack.stop()

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
