"""What every sub-command module shares."""

from __future__ import annotations

import signal
import sys
import threading


def say(message: str) -> None:
    """Progress and errors go to stderr, so stdout stays clean for --json."""
    print(message, file=sys.stderr, flush=True)


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM (`docker stop`, systemd) stop a long-running command the
    same way: as a KeyboardInterrupt in the main thread, so it shuts down in order.

    SIGINT is taken even where the starting shell ignored it, as a script's background job
    starts with it ignored: without this, `kill -INT` would never reach the bot. Called off
    the main thread (a test, a program embedding the CLI), it leaves the signals alone:
    only the main thread can take them.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.default_int_handler)
