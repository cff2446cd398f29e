""""Learn now": one learning cycle in the background, and what the page shows of it.

The cycle is the learning loop's own (`jobs.learning`), run exactly as `argot train`
runs it; this module only starts it on a thread, remembers its report and star map,
and tells the page how far it got. One cycle at a time: pressing the button again
while one runs shows the running one.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import ArgotError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("argot.playground")

Cycle = Callable[[], dict[str, Any]]
"""Runs one learning cycle and returns its report (PRODUCT.md's `argot train --json`)."""

NOT_BUILT = ("Learning is not built yet in this build of Argot: the learning cycle "
             "(jobs/learning.py, `argot train`) has not landed. Ratings are still recorded.")


class LearningRuns:
    """The state behind the "learn now" button.

    Args:
        services: the bot's services; the cycle trains from their feedback store.
        cycle: what one cycle is (tests pass a stand-in); by default the learning loop's
            own, or None when this build has none.
        client: gives the bot's Web API client, for the report to the ops channel.
    """

    def __init__(self, services: Services, cycle: Cycle | None = None, *,
                 client: Callable[[], Any] | None = None) -> None:
        self.services = services
        self.cycle = cycle if cycle is not None else learning_cycle(services, client)
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"state": "idle" if self.cycle else "unavailable",
                                       "message": "" if self.cycle else NOT_BUILT,
                                       "report": None, "star_map": None, "run": 0}
        self._picture: Path | None = None

    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def star_map(self) -> bytes | None:
        with self._lock:
            picture = self._picture
        return picture.read_bytes() if picture is not None and picture.is_file() else None

    def start(self) -> dict[str, Any]:
        """Start a cycle unless one is running; returns the state it started in."""
        with self._lock:
            if self.cycle is None or self._state["state"] == "running":
                return dict(self._state)
            run = self._state["run"] + 1
            self._state = {"state": "running", "run": run, "report": None, "star_map": None,
                           "started": time.time(),
                           "message": "Learning from the ratings: mining, training, evaluating…"}
            self._picture = None
            started = dict(self._state)
        threading.Thread(target=self._run, args=(run,), name="argot-learn-now", daemon=True).start()
        return started

    def wait(self, timeout: float) -> dict[str, Any]:
        """Block until no cycle is running (tests); returns the state."""
        return wait_while_running(self.state, timeout)

    def _run(self, run: int) -> None:
        assert self.cycle is not None
        try:
            report = self.cycle()
        except ArgotError as exc:
            self._finish(run, "failed", str(exc), None)
        except Exception as exc:  # noqa: BLE001 - the page must hear about any failure
            log.exception("learn now failed")
            self._finish(run, "failed", f"The learning cycle failed: {type(exc).__name__}: {exc}", None)
        else:
            if report.get("decision") == "failed":
                self._finish(run, "failed", f"The learning cycle failed: {report.get('reason')}",
                             report)
            else:
                self._finish(run, "done", summary(report), report)

    def _finish(self, run: int, state: str, message: str, report: dict[str, Any] | None) -> None:
        picture = Path(report["image"]) if report and report.get("image") else None
        with self._lock:
            self._picture = picture if picture is not None and picture.is_file() else None
            self._state = {"state": state, "run": run, "message": message, "report": report,
                           "finished": time.time(),
                           "star_map": f"/playground/learning/star-map.png?run={run}"
                           if self._picture else None}


def wait_while_running(state: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """`state()` once it is no longer "running" (or when `timeout` seconds have passed)."""
    deadline = time.monotonic() + timeout
    while state()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    return state()


def summary(report: dict[str, Any]) -> str:
    """One line for the page's status; the report itself carries the reason."""
    decision = report.get("decision", "?")
    return {"promoted": "A better model was promoted: the next question uses it.",
            "rejected": "The current model stays: the new one was not measurably better on the "
                        "questions it was judged on (the reason is below). More ratings give the "
                        "next cycle more to judge on.",
            "skipped": "Nothing was trained this time."}.get(decision, f"Decision: {decision}.")


def learning_cycle(services: Services, client: Callable[[], Any] | None = None) -> Cycle | None:
    """The learning loop's cycle (`jobs.learning.run_cycle`, as `argot train --force` runs
    it, in a child process) or None when this build has none. Reports for the ops channel
    go through `client()`, the bot's client, so they land in the emulator, never in a
    real workspace."""
    try:
        jobs = importlib.import_module("jobs.learning")
    except ModuleNotFoundError as exc:
        if exc.name in ("jobs", "jobs.learning"):
            return None
        raise
    run_cycle = getattr(jobs, "run_cycle", None)
    if run_cycle is None:
        return None

    def cycle() -> dict[str, Any]:
        bot_client = client() if client is not None else None
        return run_cycle(services, trigger="playground", force=True, in_child=True,
                         client=bot_client, post=bot_client is not None).as_dict()

    return cycle
