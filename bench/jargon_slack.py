"""The jargon benchmark's Slack path: the real `argot serve --http` against the emulator,
simulated people who ask and rate, and the real `argot train --json`.

The simulated people who ask and rate are the playground's teammates
(`bot.playground.teammates`).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.slackbench import argot, free_port
from bot.playground.emulator import BOT_TOKEN, SIGNING_SECRET, SlackEmulator


def env_for(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the bot and of `argot train`: this one's, with ARGOT_HOME set.

    ARGOT_* settings of the caller pass through (a lever is tried by setting its variable
    for the benchmark); Slack settings are the emulator's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(ARGOT_HOME=str(home), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               ARGOT_CLIP_MODEL="none", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               ANONYMIZED_TELEMETRY="False", **extra)
    return env


@contextmanager
def serving(home: Path, log_path: Path) -> Iterator[SlackEmulator]:
    """An emulated workspace with `argot serve --http --no-jobs` answering in it."""
    with SlackEmulator() as slack:
        port = free_port()
        command = argot("serve", "--http", "--no-jobs", "--host", "127.0.0.1", "--port", str(port))
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=env_for(home, SLACK_API_URL=slack.api_url),
                                       cwd=home, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_healthy(process, port, log_path)
                slack.connect(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
                yield slack
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def wait_healthy(process: subprocess.Popen, port: int, log_path: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"argot serve exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"argot serve did not come up in {timeout:.0f} s; see {log_path}")
        time.sleep(0.3)


def train(home: Path, log_path: Path) -> tuple[dict[str, Any], float]:
    """`argot train --json` as a user runs it: (its report, wall seconds)."""
    started = time.perf_counter()
    with log_path.open("w") as log:
        done = subprocess.run(argot("train", "--json"), env=env_for(home), cwd=home,
                              stdout=subprocess.PIPE, stderr=log, text=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"argot train printed no report (exit {done.returncode}); see {log_path}")
    return json.loads(lines[-1]), seconds
