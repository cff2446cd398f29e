"""The learning benchmark: does a cycle on people's ratings make retrieval better?

    .venv/bin/python bench/learning_bench.py quality                 # ≤ 20 min on 2 cores
    .venv/bin/python bench/learning_bench.py timing --questions 100
    .venv/bin/python bench/learning_bench.py timing --questions 1000
    .venv/bin/python bench/learning_bench.py latency

Data: the shared Debian FAQ and Jargon File (../shared/data; nothing is copied here).
Corpus: every Debian FAQ answer (titled by its section number only: with the question
as its title, finding it would be a word match) plus every Jargon File entry (marked as
a glossary, as a team would import one). Users: the Debian FAQ questions, each one's
relevant document its own answer.

quality: every question is asked through the production retriever and rated through
the real feedback store by one of eight simulated people who know the answer (👍 the
right answer when shown in the top 3; otherwise 👎 the best match and 👍 the right one
among the further candidates). Then one learning cycle runs (`LearningCycle`, exactly
what `argot train` runs, product defaults). Reported on the held-out slice (the
product's stable hash split: the cycle never trained on these questions, but it chose
its blending weight and gated on them) and on paraphrased re-asks of the rated
training questions (rewritten by rules at run time, never seen by the cycle):
MRR@10, nDCG@10, Recall@1 for the base model, BM25, the classic recipe (TripletLoss on
the same triplets, as in the sentence-transformers triplet example: 1 epoch, batch 16,
lr 2e-5, 10 % warm-up), Argot's candidate, and what users get after the cycle (the
candidate if promoted, else the base). Dense rows are exact search, best chunk per
document; hybrid rows fuse dense and BM25 as the bot does.

timing: N rated questions (the Debian FAQ questions first, then "what does TERM
mean?" for Jargon File terms), one cycle with the gate margin at -1 so that every phase
runs; seconds per phase.

latency: p95 of whole answers (`Retriever.search`, hybrid) while idle and while a
cycle runs in its child process, as the scheduled job runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.sampling import for_seconds, sample, summary_ms, timed  # noqa: E402
from bench.shared_corpus import rows  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from engine.evaluation.querysets import QuerySet, held_out  # noqa: E402
from engine.feedback import AskedQuestion, ShownAnswer, Vote  # noqa: E402
from engine.learning.trainingdata import stable_fraction  # noqa: E402
from engine.types import Document  # noqa: E402

WORK = Path(__file__).resolve().parent / ".cache" / "learning"
USERS = [f"U{n}" for n in range(8)]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the corpus and the people ---------------------------------------------------------------


def documents() -> list[Document]:
    faq = [Document(doc_id=row["id"], title=f"Debian FAQ {row['id'].removeprefix('debian-faq-')}",
                    text=row["answer"], source="debian-faq") for row in rows("debian-faq.jsonl")]
    jargon = [Document(doc_id=row["id"], title=row["term"], text=f"{row['term']}: {row['definition']}",
                       source="jargon-file", metadata={"kind": "glossary"})
              for row in rows("jargon-file.jsonl")]
    return faq + jargon


def faq_questions() -> list[tuple[str, list[str]]]:
    return [(" ".join(row["question"].split()), [row["id"]]) for row in rows("debian-faq.jsonl")]


def jargon_questions() -> list[tuple[str, list[str]]]:
    found = [(f"what does {row['term']} mean?", [row["id"]]) for row in rows("jargon-file.jsonl")]
    return sorted(found, key=lambda item: stable_fraction(item[0]))


def prepared_home(name: str) -> Path:
    """A fresh ARGOT_HOME holding the embedded corpus (embedded once, then copied)."""
    base = WORK / "base-home"
    if not (base / "ready").exists():
        shutil.rmtree(base, ignore_errors=True)
        services = Services(Settings.from_mapping({"ARGOT_HOME": str(base)}))
        docs = documents()
        say(f"embedding the corpus once: {len(docs)} documents (cached in {base})")
        report = services.ingestor().ingest(docs)
        say(report.summary())
        (base / "ready").write_text("ok")
        del services
    home = WORK / name
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base, home)
    return home


def services_at(home: Path, **env: str) -> Services:
    os.environ.update(env)
    return Services(Settings.from_mapping({**os.environ, "ARGOT_HOME": str(home)}))


def rate(services: Services, questions: list[tuple[str, list[str]]], k: int = 3) -> int:
    """Each question asked through the bot's retriever and rated by someone who knows."""
    store, retriever, votes = services.feedback, services.retriever(), 0
    for number, (text, relevant) in enumerate(questions):
        user = USERS[number % len(USERS)]
        query_id = store.record_question(AskedQuestion(text, user=user, channel="C1"))
        hits = retriever.search(text, k=k)
        for rank, hit in enumerate(hits, start=1):
            store.record_shown(ShownAnswer(query_id, hit.doc_id, rank, hit.score, "base", "C1",
                                           f"{number}.{rank}"))
        right = [hit.doc_id for hit in hits if hit.doc_id in relevant]
        if right:
            store.record_vote(Vote(query_id, right[0], user, 1))
            votes += 1
            continue
        if hits:
            store.record_vote(Vote(query_id, hits[0].doc_id, user, -1))
            votes += 1
        store.record_shown(ShownAnswer(query_id, relevant[0], k + 1, 0.0, "base", "C1",
                                       f"{number}.{k + 1}"))
        store.record_vote(Vote(query_id, relevant[0], user, 1))
        votes += 1
    return votes


# -- paraphrased re-asks ----------------------------------------------------------------------

OPENINGS = [
    (r"^how do i (.+)$", "what's the way to {0}"),
    (r"^how can i (.+)$", "is there a way I can {0}"),
    (r"^how does (.+)$", "in what way does {0}"),
    (r"^what is (.+)$", "can you explain {0}"),
    (r"^what are (.+)$", "tell me about {0}"),
    (r"^can i (.+)$", "is it possible to {0}"),
    (r"^where can i (.+)$", "where would I {0}"),
    (r"^where is (.+)$", "where do I find {0}"),
    (r"^why (.+)$", "what's the reason {0}"),
    (r"^which (.+)$", "what {0}"),
    (r"^is there (.+)$", "does Debian have {0}"),
    (r"^are there (.+)$", "does Debian offer {0}"),
    (r"^does (.+)$", "I'd like to know if {0}"),
    (r"^do i (.+)$", "must I {0}"),
    (r"^who (.+)$", "which person or group {0}"),
]
WORDS = {"install": "set up", "get": "obtain", "program": "application", "programs": "applications",
         "software": "programs", "version": "release", "latest": "newest", "use": "run",
         "find": "locate", "list": "catalogue", "package": "pkg", "packages": "pkgs",
         "distribution": "distro", "upgrade": "update", "system": "machine", "computer": "machine",
         "documentation": "docs", "available": "offered", "difference": "distinction",
         "better": "preferable", "problem": "issue", "need": "require", "make": "build",
         "official": "sanctioned", "support": "handle", "supports": "handles"}


def paraphrase(question: str) -> str:
    """A re-ask with another opening and some words swapped; '' when nothing changed."""
    text = question.strip().rstrip("?!. ").lower()
    first = re.split(r"(?<=[?!.])\s+", text)[0].rstrip("?!. ")
    for pattern, template in OPENINGS:
        match = re.match(pattern, first)
        if match:
            first = template.format(match.group(1))
            break
    swapped = " ".join(WORDS.get(word, word) for word in first.split())
    result = swapped + "?"
    return result if result.rstrip("?") != text.rstrip("?") else ""


# -- measuring -------------------------------------------------------------------------------


def scores_of(rankings: list[list[str]], queries: QuerySet) -> dict[str, float]:
    from engine.evaluation.metrics import score_rankings

    found = score_rankings(zip(rankings, [set(q.relevant) for q in queries], strict=True))
    return {"mrr@10": round(found.mrr_at_10, 4), "ndcg@10": round(found.ndcg_at_10, 4),
            "recall@1": round(found.recall_at_1, 4), "queries": found.queries}


def dense_rankings(embedder: Any, corpus: Any, vectors: np.ndarray, queries: QuerySet,
                   depth: int = 20) -> list[list[str]]:
    from engine.evaluation.corpus import ExactVectors

    return ExactVectors(corpus, vectors).rank_vectors(
        embedder.embed_batch(queries.texts, "query"), depth)


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    sets = list(next(iter(results.values())))
    lines = ["| model | " + " | ".join(f"{s} MRR@10 | {s} nDCG@10 | {s} R@1" for s in sets) + " |",
             "|---|" + "---|" * (3 * len(sets))]
    for name, by_set in results.items():
        cells = []
        for s in sets:
            found = by_set.get(s) or {}
            cells += [f"{found.get(m, float('nan')):.3f}" for m in ("mrr@10", "ndcg@10", "recall@1")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quality(args: argparse.Namespace) -> dict[str, Any]:
    from engine.evaluation.measure import question_rankings
    from engine.evaluation.vectors import embed_texts
    from engine.learning.cycle import LearningCycle
    from engine.learning.training import TrainingConfig, fine_tune, in_memory_embedder

    started = time.perf_counter()
    home = prepared_home("quality")
    services = services_at(home)
    questions = faq_questions()
    say(f"rating {len(questions)} questions as {len(USERS)} people")
    votes = rate(services, questions)
    config = services.learning_config()
    say(f"{votes} votes; running a learning cycle")
    cycle = LearningCycle(services.workbench(), config, trigger="benchmark", force=True)
    report = cycle.run().as_dict()
    say(f"cycle: {report['decision']} — {report['reason']} ({report['seconds']:.0f}s)")
    made = cycle.workings
    assert made is not None, f"the cycle stopped early: {report['reason']}"
    corpus = made.collected.corpus.corpus

    held = QuerySet.from_pairs([(q, rel) for q, rel in questions if held_out(q)], "held-out")
    para = QuerySet.from_pairs([(paraphrase(q), rel) for q, rel in questions
                                if not held_out(q) and paraphrase(q)], "paraphrases")
    sets = {"held-out": held, "paraphrased re-asks": para}
    lexical = {name: question_rankings(corpus, qs, mode="bm25") for name, qs in sets.items()}

    say("classic recipe: TripletLoss on the same triplets")
    classic_config = TrainingConfig(loss="triplet", epochs=1, batch_size=16, learning_rate=2e-5,
                                    warmup_ratio=0.1,
                                    max_seq_length=config.training.max_seq_length)
    classic_started = time.perf_counter()
    trained = fine_tune(services.workbench().base_model, made.mined.examples, classic_config,
                        work_dir=WORK / "classic-work")
    classic = in_memory_embedder(trained.model, "classic")
    classic_vectors = embed_texts(classic, corpus.texts)
    classic_seconds = time.perf_counter() - classic_started

    models = {"base (all-MiniLM-L6-v2)": (made.collected.embedder, made.collected.corpus.vectors),
              "classic recipe (TripletLoss)": (classic, classic_vectors),
              "Argot candidate": (made.evaluated.embedder, made.evaluated.vectors)}
    promoted = report["decision"] == "promoted"
    results: dict[str, dict[str, dict[str, float]]] = {"BM25": {
        name: scores_of([r[:10] for r in lexical[name]], qs) for name, qs in sets.items()}}
    dense: dict[str, dict[str, list[list[str]]]] = {}
    for label, (embedder, vectors) in models.items():
        dense[label] = {name: dense_rankings(embedder, corpus, vectors, qs)
                        for name, qs in sets.items()}
        results[label] = {name: scores_of([r[:10] for r in dense[label][name]], qs)
                          for name, qs in sets.items()}
    # Per question: where does Argot's candidate put the answer, against each other model?
    def reciprocal_ranks(rankings: list[list[str]], qs: QuerySet) -> list[float]:
        return [next((1 / r for r, d in enumerate(ranking[:10], 1) if d in q.relevant), 0.0)
                for ranking, q in zip(rankings, qs, strict=True)]

    duels = {}
    for rival in ("base (all-MiniLM-L6-v2)", "classic recipe (TripletLoss)"):
        for name, qs in sets.items():
            ours = reciprocal_ranks(dense["Argot candidate"][name], qs)
            theirs = reciprocal_ranks(dense[rival][name], qs)
            duels[f"{name}: Argot vs {rival}"] = {
                "better": sum(a > b for a, b in zip(ours, theirs, strict=True)),
                "worse": sum(a < b for a, b in zip(ours, theirs, strict=True)),
                "same": sum(a == b for a, b in zip(ours, theirs, strict=True))}
    after = "Argot candidate" if promoted else "base (all-MiniLM-L6-v2)"
    results[f"Argot after the cycle ({report['decision']})"] = results[after]
    for label in ("base (all-MiniLM-L6-v2)", "Argot candidate"):
        results[f"{label} + BM25 hybrid"] = {
            name: scores_of(question_rankings(corpus, qs, models[label][0], "hybrid",
                                              vectors=models[label][1]), qs)
            for name, qs in sets.items()}
    out = {"mode": "quality", "documents": len(corpus), "chunks": len(corpus.chunks),
           "questions": len(questions), "votes": votes, "held_out": len(held),
           "paraphrases": len(para), "cycle": report, "results": results, "duels": duels,
           "classic_seconds": round(classic_seconds, 1),
           "paraphrase_examples": [paraphrase(q) for q, _ in questions[:6]],
           "seconds": round(time.perf_counter() - started, 1),
           "load_average": os.getloadavg()}
    print(table(results))
    print(json.dumps(duels, indent=1))
    return out


def timing(args: argparse.Namespace) -> dict[str, Any]:
    from engine.learning.cycle import LearningCycle

    started = time.perf_counter()
    home = prepared_home(f"timing-{args.questions}")
    services = services_at(home, ARGOT_GATE_MARGIN="-1")
    questions = (faq_questions() + jargon_questions())[:args.questions]
    say(f"rating {len(questions)} questions")
    rate_started = time.perf_counter()
    votes = rate(services, questions)
    rating_seconds = time.perf_counter() - rate_started
    say(f"{votes} votes in {rating_seconds:.0f}s; running a cycle")
    report = LearningCycle(services.workbench(), services.learning_config(), trigger="benchmark",
                           force=True).run().as_dict()
    say(f"cycle: {report['decision']} in {report['seconds']:.0f}s: {report['phases']}")
    return {"mode": "timing", "questions": len(questions), "votes": votes,
            "rating_seconds": round(rating_seconds, 1), "cycle": report,
            "seconds": round(time.perf_counter() - started, 1), "load_average": os.getloadavg()}


def latency(args: argparse.Namespace) -> dict[str, Any]:
    from engine.learning.cyclelog import CycleLog
    from jobs.learning import run_cycle

    home = prepared_home("latency")
    services = services_at(home, ARGOT_GATE_MARGIN="-1")
    questions = faq_questions()
    votes = rate(services, questions)
    retriever = services.retriever()
    texts = [q for q, _ in questions]
    counter = iter(range(10**9))

    def ask() -> None:
        retriever.search(texts[next(counter) % len(texts)], k=5)

    for _ in range(10):
        ask()  # warm up
    before = sample(ask, pause=0.05, keep_going=for_seconds(args.idle_seconds))
    say(f"idle p95 {np.percentile(before, 95) * 1000:.0f} ms; starting a cycle in its child process")
    holder: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: holder.update(
        report=run_cycle(services, trigger="benchmark", force=True, post=False).as_dict()))
    runner.start()
    log, phase, checked = CycleLog(services.feedback), "starting", 0.0
    during: dict[str, list[float]] = {}
    loads = []
    while runner.is_alive():
        if time.monotonic() - checked > 2.0:
            recent = log.recent(1)
            phase = recent[0].phase if recent and recent[0].finished_at is None else phase
            checked = time.monotonic()
            loads.append(os.getloadavg()[0])
        during.setdefault(phase, []).append(timed(ask))
        time.sleep(0.05)
    runner.join()
    after = sample(ask, pause=0.05, keep_going=for_seconds(args.idle_seconds))
    idle = before + after
    everything = [x for values in during.values() for x in values]
    p95_idle, p95_during = float(np.percentile(idle, 95)), float(np.percentile(everything, 95))
    say(f"during the cycle ({len(everything)} answers): p95 {p95_during * 1000:.0f} ms, "
        f"ratio {p95_during / p95_idle:.2f}")

    return {"mode": "latency", "votes": votes, "idle_ms": summary_ms(idle),
            "idle_before_ms": summary_ms(before), "idle_after_ms": summary_ms(after),
            "during_ms": summary_ms(everything),
            "during_by_phase_ms": {name: summary_ms(values) for name, values in during.items()},
            "p95_ratio": round(p95_during / p95_idle, 2), "cycle": holder.get("report", {}),
            "train_threads": os.environ.get("ARGOT_TRAIN_THREADS", "1"),
            "load_average_during": [round(min(loads), 2), round(max(loads), 2)] if loads else [],
            "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("quality")
    timed = sub.add_parser("timing")
    timed.add_argument("--questions", type=int, default=100)
    lat = sub.add_parser("latency")
    lat.add_argument("--idle-seconds", type=float, default=60.0)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    result = {"quality": quality, "timing": timing, "latency": latency}[args.mode](args)
    name = args.mode + (f"-{args.questions}" if args.mode == "timing" else "")
    out = WORK / f"results-{name}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    say(f"results in {out}")


if __name__ == "__main__":
    main()
