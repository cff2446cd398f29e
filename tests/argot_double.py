"""`argot` as a real process, with the test doubles the multi-process tests need:

    python -m tests.argot_double serve --http --port 0 ...

- the text model is the fake bag-of-words embedder (a fine-tuned version's `model_id`
  is its registry name, as for the real model), so a process starts in seconds;
- ARGOT_TEST_HOST names the machine the process pretends to run on (a lease held
  "elsewhere" can only expire);
- ARGOT_TEST_CYCLE_SECONDS replaces the learning cycle by a stand-in that holds the
  lease that long and records a "rejected" cycle in the cycle log;
- ARGOT_TEST_LEASE_SECONDS shortens the learning lease (renewed every third of it).

Everything else (Slack app, feedback store, Chroma, scheduler, lease) is the product's.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from typing import Any


def install() -> None:
    from engine import embedders
    from tests.fakes import FakeEmbedder

    def fake_embedder(name: str | None, *, model_id: str | None = None, **_: Any) -> FakeEmbedder:
        return FakeEmbedder(model_id=model_id or "fake-bow")

    embedders.build_text_embedder = fake_embedder
    host = os.environ.get("ARGOT_TEST_HOST")
    if host:
        socket.gethostname = lambda: host  # type: ignore[assignment]
    from jobs import learning

    if os.environ.get("ARGOT_TEST_LEASE_SECONDS"):
        learning.LEASE_SECONDS = float(os.environ["ARGOT_TEST_LEASE_SECONDS"])
        learning.RENEW_EVERY = learning.LEASE_SECONDS / 3
    if os.environ.get("ARGOT_TEST_CYCLE_SECONDS"):
        learning.execute = stand_in_cycle


def stand_in_cycle(services: Any, *, trigger: str, force: bool, holder: str, in_child: bool,
                   progress: Any = None) -> Any:
    """Holds the lease for ARGOT_TEST_CYCLE_SECONDS, recorded like a real cycle."""
    from engine.learning.cyclelog import CycleLog
    from engine.learning.report import CycleReport

    log = CycleLog(services.feedback)
    cycle_id = f"stand-in-{uuid.uuid4().hex[:8]}"
    log.start(cycle_id, trigger, holder)
    print(f"stand-in cycle {cycle_id} running as {holder}", file=sys.stderr, flush=True)
    time.sleep(float(os.environ["ARGOT_TEST_CYCLE_SECONDS"]))
    report = CycleReport("rejected", "stand-in", services.active_version().name,
                         cycle_id=cycle_id, trigger=trigger)
    log.finish(cycle_id, report.as_dict())
    return report


if __name__ == "__main__":
    install()
    from bot.cli import main

    sys.exit(main(sys.argv[1:]))
