"""The local playground: the real bot, the Slack emulator, and a web page that looks like
one Slack channel, all on 127.0.0.1 with no workspace or token.

    page (browser) ──POST /playground/api/…──▶ emulator ──signed event──▶ Bolt app
          ▲                                        ▲                           │
          └──── long-poll of the channel ──────────┴──── Web API calls ◀───────┘

`Playground` (runner.py) wires the three together; page.py holds the page's routes;
learning.py runs a learning cycle for the "learn now" button; static/ is the page.
"""

from bot.playground.runner import Playground

__all__ = ["Playground"]
