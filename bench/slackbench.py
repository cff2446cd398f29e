"""What the Slack benchmarks share: the demo knowledge base with the real MiniLM, the
engine's own answer latency, and the real `argot serve --http` talking to the emulator.

The bot runs as its own process, exactly as deployed, with SLACK_API_URL pointing at
the emulator in this process; the emulator's recorded calls carry the time each
chat.postMessage reached it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.playground.emulator import BOT_TOKEN, SIGNING_SECRET, SignedRequest, SlackEmulator  # noqa: E402

CACHE = REPO / "bench" / ".cache"
HOME = CACHE / "slack-home"
DEMO_KB = REPO / "bot" / "demo" / "kb"
QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"
ANSWERS_SHOWN = 3


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def demo_questions() -> list[str]:
    return [json.loads(line)["query"] for line in QUESTIONS.read_text().splitlines() if line.strip()]


def argot(*args: str) -> list[str]:
    """The installed `argot` console script of this interpreter's environment."""
    return [str(Path(sys.executable).parent / "argot"), *args]


def bot_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ARGOT_"))}
    env.update(ARGOT_HOME=str(HOME), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               ARGOT_CLIP_MODEL="none")  # text questions only: no CLIP load
    return env


def load_demo_kb() -> None:
    """Ingest the demo knowledge base into the bench's ARGOT_HOME (unchanged: no work)."""
    HOME.mkdir(parents=True, exist_ok=True)
    subprocess.run(argot("ingest", str(DEMO_KB)), env=bot_env(),
                   cwd=CACHE, check=True)


class Engine:
    """The engine on its own, in this process: what the bot's answer latency is compared to."""

    def __init__(self, channel: str) -> None:
        from bot.services import Services
        from bot.settings import Settings

        self.retriever = Services(Settings.from_mapping({"ARGOT_HOME": str(HOME)})).retriever()
        self.channel = channel

    def answer_seconds(self, question: str) -> float:
        """One whole `Retriever.search`, as the bot calls it."""
        start = time.perf_counter()
        self.retriever.search(question, ANSWERS_SHOWN, channel=self.channel)
        return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving_bot(slack: SlackEmulator) -> Iterator[subprocess.Popen]:
    """`argot serve --http --no-jobs` against the emulator, ready when this yields."""
    port = free_port()
    env = {**bot_env(), "SLACK_API_URL": slack.api_url}
    log = (CACHE / "slack-serve.log").open("w")
    command = argot("serve", "--http", "--no-jobs", "--host", "127.0.0.1", "--port", str(port))
    process = subprocess.Popen(command, env=env, cwd=CACHE, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"argot serve exited; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("argot serve did not come up in 180 s")
            time.sleep(0.2)
        slack.connect(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


class Courier:
    """Delivers signed events the way Slack does, over pooled connections.

    `EventSender.send` calls `httpx.post`, which builds a new client (and TLS context)
    per request: about 100 ms of the sender's own time that no bot could avoid, so the
    benchmarks post the emulator's signed requests through one shared client instead.
    """

    def __init__(self) -> None:
        self.client = httpx.Client(timeout=30)

    def deliver(self, request: SignedRequest) -> int:
        return self.client.post(request.url, content=request.body.encode(),
                                headers=request.headers).status_code


def first_answer_at(slack: SlackEmulator, channel: str, thread_ts: str) -> float | None:
    """When the first chat.postMessage into this thread reached the emulator."""
    for call in slack.calls_to("chat.postMessage"):
        if call.params.get("thread_ts") == thread_ts and call.params.get("channel") == channel:
            return call.timestamp
    return None


def machine() -> str:
    import platform

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {load} at the end")
