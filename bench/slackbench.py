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


STAGES = ("claim", "record question", "embed", "dense", "BM25", "fusion", "post",
          "record shown")
"""The steps between a question and its answers, in the order the bot took them before
issue 12 (claim, record, search, then post and record each answer)."""


class Stages:
    """Each step of answering one question, timed on its own in this process with the
    bot's own objects: its feedback store (the same SQLite file), its retriever's parts,
    and a Web API client posting to the emulator."""

    def __init__(self, engine: Engine, slack: SlackEmulator) -> None:
        from slack_sdk import WebClient

        from bot.services import Services
        from bot.settings import Settings

        self.engine, self.slack = engine, slack
        self.feedback = Services(Settings.from_mapping({"ARGOT_HOME": str(HOME)})).feedback
        self.client = WebClient(token=BOT_TOKEN, base_url=slack.api_url.rstrip("/") + "/")
        self.general = slack.channel_id("general")
        self.thread = slack.post_bot_message(self.general, "stage timings")["ts"]
        self.seconds: dict[str, list[float]] = {stage: [] for stage in STAGES}

    def measure(self, question: str) -> None:
        """Time every stage once for `question` (appended to `self.seconds`)."""
        from engine.feedback import AskedQuestion, ShownAnswer
        from engine.search.fusion import FUSION_DEPTH, fuse

        retriever, times = self.engine.retriever, self.seconds
        embedder = getattr(retriever.embedder, "inner", retriever.embedder)
        asked = AskedQuestion(text=question, user="Ubench", channel=self.general)
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            times[stage].append(now - clock)
            clock = now

        self.feedback.claim_event(f"bench:{asked.query_id}")
        lap("claim")
        self.feedback.record_question(asked)
        lap("record question")
        query = retriever.query(question, self.general)
        query = type(query)(query.text, query.words, query.channel, embedder.embed_query(query.text))
        lap("embed")
        dense = retriever.dense(query, FUSION_DEPTH)
        lap("dense")
        lexical = retriever.lexical.search(query.words, FUSION_DEPTH, self.general)
        lap("BM25")
        hits = fuse([(dense, 1.0), (lexical, 1.0)], ANSWERS_SHOWN)
        lap("fusion")
        posted = self.client.chat_postMessage(channel=self.general, thread_ts=self.thread,
                                              text=f"stage timing: {question}")
        lap("post")
        for rank, hit in enumerate(hits, start=1):
            self.feedback.record_shown(ShownAnswer(asked.query_id, hit.chunk.doc_id, rank,
                                                   hit.score, "bench", self.general,
                                                   f"{posted['ts']}{rank}"))
        lap("record shown")


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) of a process, in MB (/proc/PID/smaps_rollup)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0])
    uss = values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)
    return {"RSS": values["Rss"] / 1024, "PSS": values["Pss"] / 1024, "USS": uss / 1024}


def machine() -> str:
    import platform

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {load} at the end")
