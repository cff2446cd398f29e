"""The jargon benchmark's markdown: per corpus, the rows in hybrid and dense, the rounds,
and the held-out slang by the round whose ratings first hold every term of a question
(where a round's rise can come from: a question whose terms were all rated in round 1
gains from round 2 only what more ratings of the same terms teach)."""

from __future__ import annotations

from typing import Any

METRICS = (("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"), ("recall@1", "R@1"))
PHASES = ("collect", "mining", "training", "evaluation", "gate", "reembed", "switch", "report")


def figures(row: dict[str, Any], mode: str) -> dict[str, dict[str, float]]:
    return row["metrics"].get(mode) or row["metrics"].get("bm25") or {}


def rows_table(corpus: dict[str, Any], mode: str) -> list[str]:
    head = " | ".join(f"{s} {label}" for s in ("slang", "plain") for _, label in METRICS)
    lines = [f"| {mode} | {head} | slang MRR@10 vs base |", "|---|" + "---:|" * 7]
    base = next(r for r in corpus["rows"] if r["name"].startswith("base"))
    base_mrr = figures(base, mode)["slang"]["mrr@10"]
    for row in corpus["rows"]:
        found = figures(row, mode)
        cells = [f"{found[s][key]:.3f}" for s in ("slang", "plain") for key, _ in METRICS]
        lines.append(f"| {row['name']} | " + " | ".join(cells) +
                     f" | {found['slang']['mrr@10'] - base_mrr:+.3f} |")
    return lines


def rounds_table(corpus: dict[str, Any]) -> list[str]:
    lines = ["| round | asked | 👍 best | 👍 alternative | right page replied | no positive | decision | "
             "pairs | hard negatives | steps (epochs) | cycle held-out | cycle s | "
             + " | ".join(PHASES) + " |",
             "|---|" + "---:|" * 5 + "---|" + "---:|" * (5 + len(PHASES))]
    for r in corpus["rounds"]:
        cycle, o = r["cycle"], r["outcomes"]
        training = cycle.get("training") or {}
        phases = cycle.get("phases") or {}
        held = (cycle.get("ratings") or {}).get("held_out_questions", "-")
        lines.append(
            f"| {r['round']} | {r['asked']} | {o['best']} | {o['alternative']} | {o.get('replied', 0)} | "
            f"{o['none']} | "
            f"{cycle['decision']} | {cycle.get('pairs', 0)} | {cycle.get('hard_negatives', 0)} | "
            f"{training.get('steps', '-')} ({training.get('epochs', '-')}) | {held} | "
            f"{cycle.get('seconds') or 0:.0f} | " + " | ".join(f"{phases.get(p, 0):.0f}" for p in PHASES)
            + " |")
    return lines


def learnable_from(terms: list[str], rated_terms: list[list[str]]) -> int:
    """The first round after which every term of a question has been in a rated question
    (`len(rated_terms) + 1`: never)."""
    seen: set[str] = set()
    for number, rated in enumerate(rated_terms, start=1):
        seen.update(rated)
        if set(terms) <= seen:
            return number
    return len(rated_terms) + 1


def learnable_table(corpus: dict[str, Any], mode: str = "hybrid") -> list[str]:
    """Held-out slang MRR@10 of each row, the questions grouped by `learnable_from`."""
    rated_terms = corpus.get("rated_terms")
    if not rated_terms:
        return []
    groups: dict[int, list[int]] = {}
    for i, question in enumerate(corpus["held_out_questions"]):
        groups.setdefault(learnable_from(question["terms"], rated_terms), []).append(i)
    order = sorted(groups)
    heads = [f"all terms rated by round {n} ({len(groups[n])})" if n <= len(rated_terms)
             else f"a term never rated ({len(groups[n])})" for n in order]
    lines = [f"| {mode} slang MRR@10 | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(order)]
    for row in corpus["rows"]:
        ranks = (row["reciprocal_ranks"].get(mode) or row["reciprocal_ranks"].get("bm25") or {}).get("slang")
        if ranks is None:
            continue
        cells = [f"{sum(ranks[i] for i in groups[n]) / len(groups[n]):.3f}" for n in order]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict[str, Any]) -> str:
    out = [f"Jargon benchmark ({result.get('command') or 'full'}), {result['started']}, "
           f"{result.get('seconds', 0):.0f} s, load average {result.get('load_average')}"]
    if result.get("levers"):
        out.append(f"Settings: {result['levers']}")
    for corpus in result["corpora"]:
        out += ["", f"### {corpus['corpus']}: {corpus['documents']} documents ({corpus['chunks']} chunks), "
                f"{len(corpus['slang_terms'])} slang terms, {corpus['held_out']} held-out questions, "
                f"rated per round {corpus['rated_per_round']} (each asked in up to 4 wordings)", ""]
        for mode in ("hybrid", "dense"):
            out += rows_table(corpus, mode) + [""]
        out += rounds_table(corpus)
        learnable = learnable_table(corpus)
        if learnable:
            out += ["", *learnable]
        for name, info in corpus["anchors"].items():
            out.append(f"\n{name}: {info['pairs']} pairs, {info['steps']} steps, {info['epochs']} epochs, "
                       f"{info['seconds']:.0f} s (training {info['training_seconds']:.0f} s)")
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # the tables of a results file, finished or not
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.jargon_bench import SEED, jargon_split, rated_terms

    found = json.loads(Path(sys.argv[1]).read_text())
    for part in found["corpora"]:  # files written before the field: the same seeded split
        if "rated_terms" not in part:
            _, split = jargon_split(part["corpus"], len(part["rated_per_round"]), part.get("seed", SEED))
            part["rated_terms"] = rated_terms(split)
    print(markdown(found))
