"""Timing calls again and again, and summing the times up: shared by the latency benchmarks.

Example:
    >>> idle = sample(ask, pause=0.05, keep_going=for_seconds(60))
    >>> summary_ms(idle)
    {'n': 1200, 'p50': 48.3, 'p95': 61.9, 'max': 90.2}
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def timed(call: Callable[[], object]) -> float:
    """Seconds one call took."""
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def for_seconds(seconds: float) -> Callable[[], bool]:
    """True until `seconds` from now."""
    until = time.monotonic() + seconds
    return lambda: time.monotonic() < until


def sample(call: Callable[[], object], *, pause: float, keep_going: Callable[[], bool]) -> list[float]:
    """Time `call` with `pause` seconds between calls while `keep_going()` says so."""
    found = []
    while keep_going():
        found.append(timed(call))
        time.sleep(pause)
    return found


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """How many, median, p95 and worst, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50": round(statistics.median(ms), 1),
            "p95": round(float(np.percentile(ms, 95)), 1), "max": round(max(ms), 1)}
