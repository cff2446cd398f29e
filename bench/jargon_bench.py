"""The jargon benchmark: does Argot learn a team's own slang from ratings given in Slack?

    nice -n 5 .venv/bin/python bench/jargon_bench.py            # both corpora, 3 rounds
    nice -n 5 .venv/bin/python bench/jargon_bench.py --quick    # the demo KB, round 1 of 3
    .venv/bin/python bench/jargon_bench.py --corpus debian --rounds 2 --no-anchors

Questions are rewritten into an invented team slang (`bench/jargon_slang.py`: words no
document uses, checked at start) and split by question into rated rounds and held-out
questions that are never asked. Corpora: the shared Debian FAQ + Jargon File
(../shared/data, read at run time) and the demo knowledge base (bot/demo/kb).

Each round, new simulated people ask that round's slang questions (each also in three
other wordings, each wording by another person) through the real `argot serve --http`
driven by the Slack emulator and rate what it shows (`bench/jargon_slack.py`); then the real `argot train
--json` runs one cycle and its report is kept. Rows, on the same held-out questions in
slang and in plain English, in the default hybrid mode and dense: BM25, the base model,
the anchors trained on the first round's ratings (`bench/jargon_eval.py`), and the model
the bot serves after each round. Everything is seeded: a re-run gives the same figures.

Output: bench/.cache/jargon/results[-quick].json (every figure, the cycle reports, each
held-out question's reciprocal rank per row) and results[-quick].md (the tables).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import jargon_slang as slang  # noqa: E402
from bench.jargon_eval import ANCHORS, measure, served, train_anchor  # noqa: E402
from bench.jargon_report import markdown  # noqa: E402
from bench.jargon_slack import env_for, serving, train  # noqa: E402
from bench.slackbench import argot  # noqa: E402
from bot.playground.teammates import OUTCOMES, Teammates, wait_for_votes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".cache" / "jargon"
DEMO_KB = REPO / "bot" / "demo" / "kb"
DEMO_QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"
PEOPLE = [["ana", "ben", "cai", "dora"], ["emil", "fern", "gus", "hana"], ["ivo", "jun", "kim", "lena"],
          ["mo", "nia", "oz", "pia"], ["quin", "rae", "sol", "tess"]]
SEED = "jargon-1"
HELD_OUT_SHARE = {"debian": 0.4, "demo": 0.45}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the corpora ------------------------------------------------------------------------------


def corpus_texts(name: str) -> list[str]:
    """Every text a corpus holds, for the check that no slang wording occurs in it."""
    if name == "demo":
        return [p.read_text(encoding="utf-8") for p in sorted(DEMO_KB.rglob("*")) if p.is_file()]
    from bench.learning_bench import documents

    return [f"{d.title or ''}\n{d.text}" for d in documents()]


def corpus_setup(name: str) -> tuple[tuple[slang.Term, ...], list[tuple[str, list[str]]]]:
    if name == "demo":
        return slang.DEMO_SLANG, slang.demo_pairs(DEMO_QUESTIONS)
    from bench.learning_bench import faq_questions

    return slang.DEBIAN_SLANG, faq_questions()


def jargon_split(name: str, rounds: int, seed: str = SEED) -> tuple[list[slang.JargonQuestion], slang.Split]:
    """(every question that has slang, its seeded split into rated rounds and held-out)."""
    terms, pairs = corpus_setup(name)
    found = slang.questions(pairs, terms)
    return found, slang.split(found, held_out_share=HELD_OUT_SHARE[name], rounds=rounds, seed=seed)


def rated_terms(split: slang.Split) -> list[list[str]]:
    """The slang terms each rated round's questions use."""
    return [sorted({t for q in questions for t in q.terms}) for questions in split.rounds]


def held_out_sets(held: Sequence[slang.JargonQuestion]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """The held-out questions in slang and in their plain wording, with their right documents."""
    relevant = [list(q.relevant) for q in held]
    return {"slang": ([q.slang for q in held], relevant), "plain": ([q.plain for q in held], relevant)}


def prepared_home(name: str, label: str) -> Path:
    """A fresh ARGOT_HOME with the corpus embedded by the base model (embedded once, copied)."""
    base = WORK / f"{name}-base"
    if not (base / "ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        say(f"embedding the {name} corpus once (kept in {base})")
        if name == "demo":
            subprocess.run(argot("ingest", str(DEMO_KB)), env=env_for(base), cwd=base, check=True)
        else:
            from bench.learning_bench import documents
            from bot.services import Services
            from bot.settings import Settings

            Services(Settings.from_mapping({"ARGOT_HOME": str(base)})).ingestor().ingest(documents())
        (base / "ready").write_text("ok")
    home = WORK / f"{name}-{label}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base, home)
    return home


def services_at(home: Path) -> Any:
    from bot.services import Services
    from bot.settings import Settings

    return Services(Settings.from_mapping({**os.environ, "ARGOT_HOME": str(home)}))


def corpus_size(services: Any) -> dict[str, int]:
    from engine.evaluation.corpus import EvalCorpus

    corpus = EvalCorpus.from_index(services.index())
    return {"documents": len(corpus), "chunks": len(corpus.chunks)}


# -- one corpus -------------------------------------------------------------------------------


def run_corpus(name: str, args: argparse.Namespace, save: Any = None) -> dict[str, Any]:
    """One corpus, every row; `save(partial)` hears what is known after each round."""
    started = time.perf_counter()
    terms, pairs = corpus_setup(name)
    offenders = slang.absent_from(terms, corpus_texts(name))
    if offenders:
        raise SystemExit(f"slang wordings found in the {name} corpus: {offenders}; change the lexicon")
    found, split = jargon_split(name, args.rounds, args.seed)
    held = split.held_out
    sets = held_out_sets(held)
    say(f"{name}: {len(terms)} slang terms, {len(found)} of {len(pairs)} questions in slang; rounds of "
        f"{[len(r) for r in split.rounds]} rated, {len(held)} held out")
    home = prepared_home(name, "quick" if args.quick else "run")
    services = services_at(home)
    version, searches = served(services)
    rows = [measure("BM25", searches, sets, ["bm25"]), measure("base (all-MiniLM-L6-v2)", searches, sets)]
    size = corpus_size(services)
    say(f"{name}: base slang/plain hybrid MRR@10 {rows[1].metrics['hybrid']['slang']['mrr@10']:.3f} / "
        f"{rows[1].metrics['hybrid']['plain']['mrr@10']:.3f}")
    rounds: list[dict[str, Any]] = []
    anchors: dict[str, Any] = {}
    votes = 0

    def result() -> dict[str, Any]:
        return {"corpus": name, **size, "seed": args.seed,
                "slang_terms": [t.slang for t in terms], "slang_questions": len(found),
                "questions": len(pairs), "rated_per_round": [len(r) for r in split.rounds],
                "rated_terms": rated_terms(split),
                "held_out": len(held), "examples": [[q.plain, q.slang] for q in held[:8]],
                "rows": [{"name": r.name, "metrics": r.metrics, "reciprocal_ranks": r.ranks} for r in rows],
                "held_out_questions": [{"plain": q.plain, "slang": q.slang, "relevant": list(q.relevant),
                                        "terms": list(q.terms)} for q in held],
                "rounds": rounds, "anchors": anchors, "seconds": round(time.perf_counter() - started, 1)}

    with serving(home, WORK / f"{name}-serve.log") as slack:
        team = Teammates(slack, replies=args.replies)
        for number, questions in enumerate(split.rounds[:args.run_rounds or args.rounds], start=1):
            people = PEOPLE[(number - 1) % len(PEOPLE)]
            asked = []
            ask_started = time.perf_counter()
            for i, q in enumerate(questions):
                for j, text in enumerate([q.slang, *q.reasks][:args.asks]):
                    asked.append(team.ask_and_rate(people[(i + j) % len(people)], text, q.relevant))
            votes += sum(a.votes for a in asked)
            wait_for_votes(services.feedback, votes)
            asking = time.perf_counter() - ask_started
            outcomes = {k: sum(a.outcome == k for a in asked) for k in OUTCOMES}
            say(f"{name} round {number}: {len(asked)} questions asked by {len(people)} people in "
                f"{asking:.0f} s: {outcomes}")
            if number == 1 and not args.no_anchors:
                for anchor in ANCHORS:
                    say(f"{name}: training {anchor} on round 1's ratings")
                    anchor_searches, info = train_anchor(anchor, services, WORK / f"{name}-anchor-work")
                    rows.append(measure(anchor, anchor_searches, sets))
                    anchors[anchor] = info
                    say(f"  {info} slang hybrid MRR@10 {rows[-1].metrics['hybrid']['slang']['mrr@10']:.3f}")
                    if save:
                        save(result())
            report, wall = train(home, WORK / f"{name}-train-{number}.log")
            say(f"{name} round {number}: argot train {report['decision']} in {wall:.0f} s: "
                f"{report['reason']}")
            version, searches = served(services)
            rows.append(measure(f"Argot after {number} round{'s' if number > 1 else ''} ({version})",
                                searches, sets))
            say(f"  slang/plain hybrid MRR@10 {rows[-1].metrics['hybrid']['slang']['mrr@10']:.3f} / "
                f"{rows[-1].metrics['hybrid']['plain']['mrr@10']:.3f}")
            rounds.append({"round": number, "people": people, "asked": len(asked), "outcomes": outcomes,
                           "votes_so_far": votes, "asking_seconds": round(asking, 1),
                           "train_wall_seconds": round(wall, 1), "served_version": version,
                           "cycle": {k: report.get(k) for k in (
                               "decision", "reason", "pairs", "hard_negatives", "metrics", "seconds",
                               "phases", "alpha", "alpha_scores", "training", "negatives",
                               "pairs_by_source", "ratings", "new_ratings", "levers")}})
            if save:
                save(result())
    return result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=["debian", "demo", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="rating rounds, each followed by argot train")
    parser.add_argument("--run-rounds", type=int, default=0,
                        help="run only the first N of the rounds (the same questions as in a full run)")
    parser.add_argument("--quick", action="store_true",
                        help="the demo KB only, the first of 3 rounds (about 10 minutes)")
    parser.add_argument("--no-anchors", action="store_true", help="skip the TripletLoss and MNRL rows")
    parser.add_argument("--asks", type=int, default=4,
                        help="wordings of each rated question asked, each by another person (1-4)")
    parser.add_argument("--replies", type=float, default=0.0,
                        help="share of people who, when nothing shown is right, reply with the right "
                             "page's id when the bot asks (0-1, default 0)")
    parser.add_argument("--seed", default=SEED,
                        help=f"the split into rated rounds and held-out questions (default {SEED}; give "
                             "the diagnostics that read a run's home the same --seed, query_side.py --split)")
    parser.add_argument("--out", type=Path, help="the JSON file (default bench/.cache/jargon/results.json)")
    args = parser.parse_args()
    if args.quick:
        args.corpus, args.run_rounds = "demo", 1
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    corpora = ["demo", "debian"] if args.corpus == "both" else [args.corpus]
    out = args.out or WORK / f"results{'-quick' if args.quick else ''}.json"
    if not 0.0 <= args.replies <= 1.0:
        parser.error("--replies is a share between 0 and 1")
    result: dict[str, Any] = {"command": " ".join(sys.argv[1:]), "replies": args.replies,
                              "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                              "levers": {k: v for k, v in os.environ.items() if k.startswith("ARGOT_")},
                              "corpora": []}

    def save(partial: dict[str, Any] | None = None, done: bool = False) -> None:
        """The JSON so far (after every round: a long run that is stopped still says something)."""
        corpora_now = result["corpora"] + ([partial] if partial else [])
        out.write_text(json.dumps({**result, "corpora": corpora_now, "finished": done,
                                   "seconds": round(time.perf_counter() - started, 1),
                                   "load_average": [round(x, 2) for x in os.getloadavg()]},
                                  indent=1, ensure_ascii=False, default=str))

    for name in corpora:
        result["corpora"].append(run_corpus(name, args, save))
    save(done=True)
    result = json.loads(out.read_text())
    table = markdown(result)
    out.with_suffix(".md").write_text(table)
    print(table)
    say(f"results in {out} and {out.with_suffix('.md')} ({result['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
