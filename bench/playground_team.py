"""The playground's "Let the team rate", end to end with the real model: what a newcomer sees.

    .venv/bin/python bench/playground_team.py [--rounds 3] [--home DIR]

Starts `argot demo --no-browser --port 0` in a fresh home (MiniLM, the real learning cycle
in its own process, the demo's own gate), presses "Let the team rate" once per round
through the page's own API, as the button does, and prints for each round what the page
shows: the team's held-out slang before and after (MRR@10, best match right), how the
teammates' ratings went, the cycle's decision and reason, what it learnt, and how long
the round took. `--out FILE` also writes the rounds' states as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
API = "/playground/api/team"


def start_demo(home: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    """`argot demo` in `home`; (the process, the page's URL) once it listens."""
    env = {**os.environ, "ARGOT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--no-browser", "--port", "0"],
                               cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"Argot playground: (\S+)", line)
        if found:
            return process, found.group(1).rstrip("/")
    raise SystemExit(f"argot demo stopped before listening; see {log}")


def play_round(page: httpx.Client, timeout: float) -> dict[str, Any]:
    started = page.post(API, json={})
    if started.status_code != 202:
        raise SystemExit(f"the page refused the round: {started.json().get('message')}")
    state = started.json()
    deadline = time.monotonic() + timeout
    while state["state"] == "running" and time.monotonic() < deadline:
        time.sleep(2)
        state = page.get(API).json()
    return state


def describe(state: dict[str, Any], seconds: float) -> str:
    before, after = state.get("before", {}), state.get("after", {})
    outcomes = state.get("outcomes", {})
    lines = [f"round {state.get('round')}: {state['state']}, {seconds:.0f} s",
             f"  ratings: {outcomes}",
             f"  decision: {state.get('decision')}: {state.get('learning_reason', '')}",
             f"  held-out slang MRR@10 {before.get('mrr@10')} ({before.get('version')}) → "
             f"{after.get('mrr@10')} ({after.get('version')}); best match right "
             f"{before.get('recall@1')} → {after.get('recall@1')}",
             f"  learnt: {state.get('learnt')}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--home", type=Path, help="ARGOT_HOME to run in (default: a fresh temporary one)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a round may take")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="argot-team-"))
    process, url = start_demo(home, home.parent / f"{home.name}-demo.log")
    print(f"playground at {url}, home {home}", flush=True)
    rounds = []
    try:
        with httpx.Client(base_url=url, timeout=60) as page:
            for _ in range(args.rounds):
                began = time.perf_counter()
                state = play_round(page, args.timeout)
                seconds = time.perf_counter() - began
                report = page.get("/playground/api/learn").json().get("report") or {}
                state["learning_reason"] = report.get("reason", "")
                state["cycle_seconds"] = report.get("seconds")
                rounds.append({**state, "seconds": round(seconds, 1)})
                print(describe(state, seconds), flush=True)
                if state["state"] != "done":
                    break
    finally:
        process.terminate()
        process.wait(30)
    if args.out:
        args.out.write_text(json.dumps(rounds, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
