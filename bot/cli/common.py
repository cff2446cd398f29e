"""What every sub-command module shares."""

from __future__ import annotations

import signal
import sys


def say(message: str) -> None:
    """Progress and errors go to stderr, so stdout stays clean for --json."""
    print(message, file=sys.stderr, flush=True)


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM (`docker stop`, systemd) stop a long-running command the
    same way: as a KeyboardInterrupt in the main thread, so it shuts down in order.

    SIGINT is taken even where the starting shell ignored it, as a script's background job
    starts with it ignored: without this, `kill -INT` would never reach the bot.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.default_int_handler)
