"""Slack load on several bot processes: 1, 2 and 4 `argot serve --http` on one PostgreSQL
and one Chroma server, questions at a steady rate, Slack's retries sent to another process.

    .venv/bin/python bench/slack_load_multi.py --processes 1 2 4 --rate 40 --seconds 10

Each question goes to the next process in turn (a load balancer's round robin); every
tenth is delivered again one second later to the following process, with Slack's retry
headers. When the answers are in, the asker gives the best answer a 👍, again round
robin, every fifth one retried to the next process. Counted per run: questions answered
exactly once, duplicated (a thread answered for two question ids, or one rank twice),
lost (no reply within --drain s), votes lost (👍 given but not in the database), and the
time from sending to the first answer (p50, p95). The servers are throw-away
(tests/servers.py): PostgreSQL from Debian, `chroma run`; the demo knowledge base is
ingested once with the real MiniLM. Target: none duplicated, none lost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.slack_load import Sent, tally  # noqa: E402
from bench.slackbench import (  # noqa: E402
    DEMO_KB,
    Courier,
    argot,
    bot_env,
    demo_questions,
    free_port,
    machine,
    percentile,
)
from bot.playground.emulator import BOT_USER_ID, SIGNING_SECRET, SlackEmulator  # noqa: E402
from bot.playground.emulator.events import Signing  # noqa: E402


def start_bots(count: int, env: dict[str, str], folder: Path) -> list[tuple[object, str]]:
    import subprocess

    import httpx

    bots = []
    for n in range(count):
        port = free_port()
        log = (folder / f"serve-{n}.log").open("w")
        process = subprocess.Popen(argot("serve", "--http", "--no-jobs", "--host", "127.0.0.1",
                                         "--port", str(port)), env=env, cwd=folder, stdout=log,
                                   stderr=subprocess.STDOUT)
        bots.append((process, f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + 300
    for process, url in bots:
        while True:
            assert process.poll() is None, f"argot serve exited; see {folder}/serve-*.log"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "argot serve did not come up in 300 s"
            time.sleep(0.3)
    return bots


def one_run(count: int, base_env: dict[str, str], postgres, rate: float, seconds: float,
            drain: float, folder: Path) -> dict[str, object]:
    from engine.feedback import FeedbackStore
    from engine.migrations import upgrade

    url = postgres.fresh_database()
    upgrade(url)
    store = FeedbackStore(url)
    questions = demo_questions()
    with SlackEmulator() as slack:
        env = {**base_env, "DATABASE_URL": url, "SLACK_API_URL": slack.api_url}
        bots = start_bots(count, env, folder)
        urls = [f"{u}/slack/events" for _, u in bots]
        slack.connect(urls[0], SIGNING_SECRET)
        general = slack.channel_id("general")
        people = [slack.add_user(f"sailor{n}") for n in range(8)]
        courier, lock, sent, deliveries = Courier(), threading.Lock(), [], {}
        try:
            for n, target in enumerate(urls):  # warm-up, not counted
                asked = slack.post_user_message(general, people[0], f"<@{BOT_USER_ID}> {questions[n]}",
                                                deliver=False)
                courier.deliver(replace(asked.request, url=target))
                slack.wait_for_messages(general, asked.ts, timeout=120)

            def ask(number: int) -> None:
                asked = slack.post_user_message(general, people[number % len(people)],
                                                f"<@{BOT_USER_ID}> {questions[number % len(questions)]}",
                                                deliver=False)
                start = time.time()
                try:
                    status = courier.deliver(replace(asked.request, url=urls[number % count]))
                except Exception:  # a refused delivery is what this benchmark counts
                    status = None
                with lock:
                    sent.append(Sent(general, asked.ts, start, status, time.time() - start))
                    deliveries[asked.ts] = (asked, number)
                if number % 10 == 0:  # Slack's retry, to the next process
                    time.sleep(1.0)
                    again = slack.events.resign(asked.request, Signing(retry_num=1))
                    courier.deliver(replace(again, url=urls[(number + 1) % count]))

            started = time.monotonic() + 0.5
            with ThreadPoolExecutor(max_workers=32) as pool:
                for number in range(int(rate * seconds)):
                    delay = started + number / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pool.submit(ask, number)
            result = tally(slack, sent, drain)

            given = 0
            for ts, (asked, number) in deliveries.items():
                answers = [m for m in slack.messages(general, ts) if m.get("metadata")]
                if not answers:
                    continue
                best = min(answers, key=lambda m: m["metadata"]["event_payload"]["rank"])
                slack.connect(urls[number % count], SIGNING_SECRET)
                thumb = slack.add_reaction(asked.message["user"], general, best["ts"], "+1",
                                           deliver=False)
                courier.deliver(replace(thumb.request, url=urls[number % count]))
                if number % 5 == 0:
                    again = slack.events.resign(thumb.request, Signing(retry_num=1))
                    courier.deliver(replace(again, url=urls[(number + 1) % count]))
                given += 1
            deadline = time.monotonic() + drain
            while store.vote_count() < given and time.monotonic() < deadline:
                time.sleep(0.5)
            result["votes given"], result["votes lost"] = given, given - store.vote_count()
        finally:
            for process, _ in bots:
                process.terminate()
            for process, _ in bots:
                process.wait(timeout=30)
    return result


def main() -> None:
    from tests.servers import running_chroma, running_postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rate", type=float, default=40.0, help="questions per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to keep asking")
    parser.add_argument("--drain", type=float, default=300.0,
                        help="seconds to wait for the last answers, then for the votes")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="argot-load-"))
    rows = []
    with running_postgres() as postgres, running_chroma(folder) as (host, port):
        base = {**bot_env(), "ARGOT_HOME": str(folder / "home"), "CHROMA_HOST": host,
                "CHROMA_PORT": str(port)}
        import subprocess

        from engine.migrations import upgrade

        ingest_db = postgres.fresh_database()
        upgrade(ingest_db)
        subprocess.run(argot("ingest", str(DEMO_KB)), env={**base, "DATABASE_URL": ingest_db},
                       cwd=folder, check=True)
        for count in args.processes:
            result = one_run(count, base, postgres, args.rate, args.seconds, args.drain, folder)
            rows.append((count, result))
            print(f"{count} processes: {result['answered']} answered", file=sys.stderr, flush=True)
    print(f"\n{args.rate:g} questions/s for {args.seconds:g} s, every tenth retried to another "
          f"process; {machine()}\n")
    print("| processes | sent | answered once | duplicated | lost | votes given | votes lost | "
          "answered per second | first answer p50 | p95 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count, r in rows:
        latency = r["latency"]
        print(f"| {count} | {r['sent']} | {r['answered'] - r['duplicated']} | {r['duplicated']} | "
              f"{r['lost']} | {r['votes given']} | {r['votes lost']} | {r['throughput']:.1f} | "
              f"{percentile(latency, 50) * 1000:.0f} ms | {percentile(latency, 95) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
