"""Slack latency: from a signed event reaching the bot to its first chat.postMessage at
the emulator, as a ratio to the engine's own answer latency (`Retriever.search`) on the
same questions in the same run, and to the bare query embedding (the floor: the
embedder's `embed_query` alone, through ONNX Runtime by default; the same model's
PyTorch embedding is timed too, the floor before `engine.onnxqueries`).

    .venv/bin/python bench/slack_latency.py --rounds 2

The bot is the real `argot serve --http` process with the bundled MiniLM over the demo
knowledge base; the questions are the demo's questions.jsonl, asked one at a time as
mentions in #general. Each question is timed through the engine alone (in this process)
and through the bot, alternating which goes first, so both see the same machine.
Each question is also taken apart in this process (`bench.slackbench.Stages`): claim,
record question, embed, dense, BM25, fusion, post (one chat.postMessage to the
emulator) and record shown (three answers), each timed alone; the table prints each
stage's median and its share of the bare embedding. Target (issue 12): bot p50 ≤ 1.6×
the bare embedding.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.slackbench import (  # noqa: E402
    STAGES,
    Courier,
    Engine,
    Stages,
    demo_questions,
    first_answer_at,
    load_demo_kb,
    machine,
    percentile,
    serving_bot,
)
from bot.playground.emulator import BOT_USER_ID, SlackEmulator  # noqa: E402


class Asker:
    def __init__(self, slack: SlackEmulator) -> None:
        self.slack, self.courier = slack, Courier()
        self.general, self.alice = slack.channel_id("general"), slack.user_id("alice")

    def ask(self, question: str) -> tuple[float, float]:
        """(event sent → first answer posted, event sent → HTTP acknowledgement), seconds."""
        slack = self.slack
        asked = slack.post_user_message(self.general, self.alice, f"<@{BOT_USER_ID}> {question}",
                                        deliver=False)
        start = time.time()
        status = self.courier.deliver(asked.request)
        acked = time.time() - start
        assert status == 200, status
        slack.wait_for_messages(self.general, asked.ts, timeout=60, user=BOT_USER_ID)
        answered = first_answer_at(slack, self.general, asked.ts) - start
        time.sleep(0.1)  # the rest of the thread is posted before the next question
        return answered, acked


class TorchFloor:
    """The same model's bare query embedding in PyTorch (ARGOT_QUERY_ENCODER=torch)."""

    def __init__(self) -> None:
        from engine.embedders import SentenceTransformerEmbedder

        self.embedder = SentenceTransformerEmbedder()
        self.embedder.embed_query("warm up")
        self.seconds: list[float] = []

    def measure(self, question: str) -> None:
        start = time.perf_counter()
        self.embedder.embed_query(question)
        self.seconds.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions")
    args = parser.parse_args()
    questions = demo_questions()
    load_demo_kb()
    engine_s, answer_s, ack_s = [], [], []
    with SlackEmulator() as slack, serving_bot(slack):
        engine, asker = Engine(slack.channel_id("general")), Asker(slack)
        stages = Stages(engine, slack)
        torch_floor = TorchFloor()
        for question in questions[:5]:  # warm-up: first BM25 build, connection pools
            engine.answer_seconds(question), asker.ask(question), stages.measure(question)
        stages.seconds = {stage: [] for stage in STAGES}
        for round_ in range(args.rounds):
            for number, question in enumerate(questions):
                stages.measure(question)
                if (number + round_) % 2:
                    engine_s.append(engine.answer_seconds(question))
                    answered, acked = asker.ask(question)
                else:
                    answered, acked = asker.ask(question)
                    engine_s.append(engine.answer_seconds(question))
                answer_s.append(answered)
                ack_s.append(acked)
        for question in questions:  # apart: PyTorch's idle threads spin and slow what follows
            torch_floor.measure(question)

    def ms(values: list[float], q: float) -> float:
        return percentile(values, q) * 1000

    print(f"\n{len(answer_s)} questions ({len(questions)} × {args.rounds}); {machine()}\n")
    print("| | p50 (ms) | p95 (ms) |\n|---|---:|---:|")
    print(f"| engine: `Retriever.search` | {ms(engine_s, 50):.1f} | {ms(engine_s, 95):.1f} |")
    print(f"| bot: signed event → first chat.postMessage | {ms(answer_s, 50):.1f} | "
          f"{ms(answer_s, 95):.1f} |")
    print(f"| bot: HTTP acknowledgement | {ms(ack_s, 50):.1f} | {ms(ack_s, 95):.1f} |")
    print(f"| **ratio bot / engine** | **{ms(answer_s, 50) / ms(engine_s, 50):.2f}** | "
          f"**{ms(answer_s, 95) / ms(engine_s, 95):.2f}** |")
    embed = stages.seconds["embed"]
    print(f"| **ratio bot / bare embedding** | **{ms(answer_s, 50) / ms(embed, 50):.2f}** | "
          f"**{ms(answer_s, 95) / ms(embed, 95):.2f}** |")
    torch_s = torch_floor.seconds
    print(f"| ratio bot / bare embedding in PyTorch ({ms(torch_s, 50):.2f} ms p50: the floor before "
          f"ONNX Runtime) | {ms(answer_s, 50) / ms(torch_s, 50):.2f} | "
          f"{ms(answer_s, 95) / ms(torch_s, 95):.2f} |")
    print("\nStages, each timed alone in the benchmark's process (medians):\n")
    print("| stage | p50 (ms) | p95 (ms) | × bare embedding (p50) |\n|---|---:|---:|---:|")
    for stage in STAGES:
        values = stages.seconds[stage]
        print(f"| {stage} | {ms(values, 50):.2f} | {ms(values, 95):.2f} | "
              f"{ms(values, 50) / ms(embed, 50):.2f} |")


if __name__ == "__main__":
    main()
