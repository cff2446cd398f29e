"""Writes bot/demo/team.jsonl, the demo team of the playground's "Let the team rate" step.

    .venv/bin/python bench/demo_team.py          # rewrite the file
    .venv/bin/python bench/demo_team.py --check  # exit 1 if the file is not what this writes

The team is the jargon benchmark's three rounds on the demo knowledge base: the same
slang (`bench/jargon_slang.py`), the same seeded split, the same four people a round
asking each rated question in four wordings. The playground plays them in two presses
(`PRESSES`): the first asks the benchmark's rounds 1 and 2 (eight people, 52 questions),
the second its round 3. One round's 26 questions hold too few of the slang's words twice
for a gain the cycle's gate can tell from noise: in the benchmark round 1 is rejected and
the first promotion comes with round 2's ratings (docs/benchmarks.md), so a newcomer's
first press would show nothing learnt. Rows, one JSON object a line:
- `{"set": "rated", "round", "person", "question", "relevant"}`: what a teammate asks and
  rates in that press (`round` 1 is the first press, 2 the second);
- `{"set": "held_out", "question", "plain", "relevant"}`: slang questions nobody rates,
  shown before and after learning (with the plain wording they were made from).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.jargon_bench import PEOPLE, jargon_split  # noqa: E402
from bot.playground.demo import TEAM  # noqa: E402

ASKS = 4
PRESSES = ((1, 2), (3,))
"""The benchmark's rounds each press of "Let the team rate" plays."""


def team_rows() -> list[dict[str, object]]:
    _, split = jargon_split("demo", 3)
    rows: list[dict[str, object]] = []
    press_of = {number: press for press, rounds in enumerate(PRESSES, start=1) for number in rounds}
    for number, questions in enumerate(split.rounds, start=1):
        people, press = PEOPLE[(number - 1) % len(PEOPLE)], press_of[number]
        for i, q in enumerate(questions):
            for j, text in enumerate([q.slang, *q.reasks][:ASKS]):
                rows.append({"set": "rated", "round": press, "person": people[(i + j) % len(people)],
                             "question": text, "relevant": list(q.relevant)})
    rows += [{"set": "held_out", "question": q.slang, "plain": q.plain, "relevant": list(q.relevant)}
             for q in split.held_out]
    return rows


def team_file_text() -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in team_rows())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = team_file_text()
    if args.check:
        same = TEAM.is_file() and TEAM.read_text(encoding="utf-8") == text
        print(f"{TEAM}: {'up to date' if same else 'differs: run bench/demo_team.py'}")
        raise SystemExit(0 if same else 1)
    TEAM.write_text(text, encoding="utf-8")
    print(f"wrote {TEAM}: {text.count(chr(10))} rows")


if __name__ == "__main__":
    main()
