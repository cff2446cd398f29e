"""Slack load: questions at a steady rate from several emulated people, against the real
`argot serve --http` process; counts what was answered, lost and duplicated.

    .venv/bin/python bench/slack_load.py --rate 20 --seconds 60 --users 8

Every question is a signed event sent at its scheduled time (i / rate seconds after the
start) by a pool of senders; three in four are mentions in #general, one in four a DM.
Answered: its thread got at least one answer message. Lost: no reply at all within
`--drain` seconds after the last question. Duplicated: a thread with answers to more than
one question id, or the same rank twice (a delivery handled twice). Latency is from
sending the event to the first chat.postMessage into its thread reaching the emulator.
CPU is the bot process's user + system time over the load (from the first question
sent to the last answer seen), as a share of one core; memory is the bot's RSS, PSS
and USS after the load. Target: none lost or duplicated; issue 12: at 40/s for 30 s,
first-answer p95 ≤ 1 s.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.slackbench import (  # noqa: E402
    Courier,
    cpu_seconds,
    demo_questions,
    load_demo_kb,
    machine,
    memory_mb,
    percentile,
    serving_bot,
)
from bot.playground.emulator import BOT_USER_ID, SlackEmulator  # noqa: E402


@dataclass
class Sent:
    channel: str
    ts: str
    at: float
    status: int | None
    ack_seconds: float


def send(slack: SlackEmulator, courier: Courier, channel: str, user: str, text: str,
         dm: bool) -> Sent:
    body = text if dm else f"<@{BOT_USER_ID}> {text}"
    asked = slack.post_user_message(channel, user, body, deliver=False)
    start = time.time()
    try:
        status = courier.deliver(asked.request)
    except Exception:  # a refused or timed-out delivery is what this benchmark counts
        status = None
    return Sent(channel, asked.ts, start, status, time.time() - start)


def run_load(slack: SlackEmulator, questions: list[str], rate: float, seconds: float,
             users: int) -> list[Sent]:
    people = [slack.user_id("alice"), slack.user_id("bob")]
    people += [slack.add_user(f"sailor{n}") for n in range(max(0, users - 2))]
    general = slack.channel_id("general")
    dms = {person: slack.dm(person) for person in people}
    total = int(rate * seconds)
    results: list[Sent] = []
    lock = threading.Lock()
    courier = Courier()

    def one(number: int) -> None:
        person = people[number % len(people)]
        dm = number % 4 == 3
        sent = send(slack, courier, dms[person] if dm else general, person,
                    questions[number % len(questions)], dm)
        with lock:
            results.append(sent)

    start = time.monotonic() + 0.5
    with ThreadPoolExecutor(max_workers=32, thread_name_prefix="sender") as pool:
        for number in range(total):
            delay = start + number / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, number)
    return results


def tally(slack: SlackEmulator, sent: list[Sent], drain: float) -> dict[str, object]:
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        if all(slack.messages(s.channel, s.ts) for s in sent):
            break
        time.sleep(0.5)
    first_post: dict[tuple[str, str], float] = {}
    for call in slack.calls_to("chat.postMessage"):
        key = (call.params.get("channel"), call.params.get("thread_ts"))
        first_post.setdefault(key, call.timestamp)
    answered = lost = duplicated = other_replies = 0
    latencies, last_answer = [], 0.0
    for s in sent:
        replies = [m for m in slack.messages(s.channel, s.ts) if m.get("user") == BOT_USER_ID]
        answers = [m["metadata"]["event_payload"] for m in replies if m.get("metadata")]
        if not replies:
            lost += 1
            continue
        ranks = Counter(a["rank"] for a in answers)
        if len({a["query_id"] for a in answers}) > 1 or any(n > 1 for n in ranks.values()):
            duplicated += 1
        if answers:
            answered += 1
        else:
            other_replies += 1
        latencies.append(first_post[(s.channel, s.ts)] - s.at)
        last_answer = max(last_answer, first_post[(s.channel, s.ts)])
    statuses = Counter(s.status for s in sent)
    span = last_answer - min(s.at for s in sent) if latencies else float("nan")
    return {"sent": len(sent), "answered": answered, "throughput": len(latencies) / span,
            "other replies": other_replies,
            "lost": lost, "duplicated": duplicated, "acks": dict(statuses),
            "latency": latencies, "ack": [s.ack_seconds for s in sent]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="questions per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep asking")
    parser.add_argument("--users", type=int, default=8, help="emulated people asking")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds to wait for the last answers")
    args = parser.parse_args()
    questions = demo_questions()
    load_demo_kb()
    with SlackEmulator() as slack, serving_bot(slack) as bot:
        for question in questions[:5]:  # warm-up, not counted
            asked = slack.post_user_message(slack.channel_id("general"), slack.user_id("alice"),
                                            f"<@{BOT_USER_ID}> {question}")
            slack.wait_for_messages(slack.channel_id("general"), asked.ts, timeout=60)
        time.sleep(1)
        started, cpu_before = time.monotonic(), cpu_seconds(bot.pid)
        sent = run_load(slack, questions, args.rate, args.seconds, args.users)
        sending = time.monotonic() - started
        result = tally(slack, sent, args.drain)
        busy = (cpu_seconds(bot.pid) - cpu_before) / (time.monotonic() - started)
        memory = memory_mb(bot.pid)
    by_kind = defaultdict(int)
    for s in sent:
        by_kind["DM" if s.channel.startswith("D") else "mention"] += 1
    latency, ack = result["latency"], result["ack"]
    print(f"\n{args.rate:g} questions/s for {args.seconds:g} s from {args.users} people "
          f"({by_kind['mention']} mentions, {by_kind['DM']} DMs), sent in {sending:.1f} s; "
          f"{machine()}\n")
    print("| sent | answered | other replies | lost | duplicated | HTTP acks | "
          "answered per second | latency p50 | latency p95 | ack p95 |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    print(f"| {result['sent']} | {result['answered']} | {result['other replies']} | "
          f"{result['lost']} | {result['duplicated']} | {result['acks']} | "
          f"{result['throughput']:.1f} | "
          f"{percentile(latency, 50) * 1000:.0f} ms | {percentile(latency, 95) * 1000:.0f} ms | "
          f"{percentile(ack, 95) * 1000:.0f} ms |")
    print(f"\nbot CPU {busy * 100:.0f}% of one core over the load; memory after it: "
          + ", ".join(f"{name} {mb:.0f} MB" for name, mb in memory.items()))


if __name__ == "__main__":
    main()
