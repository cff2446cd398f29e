"""What every sub-command module shares."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    """Progress and errors go to stderr, so stdout stays clean for --json."""
    print(message, file=sys.stderr, flush=True)
