"""Slack surfaces, one module each. `register(app)` wires them all into a Bolt app."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App

from handlers import commands, home, images, questions, reactions, rightpage, shortcuts

SURFACES = [rightpage, questions, images, reactions, commands, shortcuts, home]
"""In order: Bolt runs the first listener that matches, so a reply in a thread that awaits
its right page (handlers/rightpage.py) is taken before it could be read as a question."""


def register(app: App) -> None:
    for surface in SURFACES:
        surface.register(app)
    # Last: every other event the app is subscribed to (edits, other emoji, messages
    # it is not meant to answer) gets a 200, not Bolt's 404, which Slack would retry.
    app.event(re.compile(".*"))(ignore)


def ignore(ack: Any) -> None:
    ack()
