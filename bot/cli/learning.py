"""`argot train`, `argot models`, `argot models rollback`: the learning loop by hand."""

from __future__ import annotations

import argparse
import json
import time

from bot.cli.common import say
from bot.services import Services


def cmd_train(args: argparse.Namespace, services: Services) -> int:
    from jobs.learning import run_cycle
    from jobs.report import describe

    say("learning cycle: collect → mine → train → evaluate → gate → re-embed → switch …")
    report = run_cycle(services, trigger="manual", force=args.force, in_child=args.child,
                       progress=say)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
    else:
        print(describe(report))
        if report.image:
            print(f"Picture: {report.image}")
    return 1 if report.decision == "failed" else 0


def cmd_models(args: argparse.Namespace, services: Services) -> int:
    registry = services.registry
    active = registry.active().name
    rows = []
    for version in registry.versions():
        held_out = (version.metrics or {}).get("held_out") or {}
        rows.append({"version": version.name, "active": version.name == active,
                     "created_at": version.created_at, "parent": version.parent,
                     "path": version.path, "held_out": held_out, "note": version.note})
    if args.json:
        print(json.dumps({"active": active, "history": registry.history(), "versions": rows},
                         ensure_ascii=False))
        return 0
    for row in rows:
        mark = "*" if row["active"] else " "
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"])) \
            if row["created_at"] else "-"
        score = f"held-out nDCG@10 {row['held_out']['ndcg@10']:.3f}" \
            if "ndcg@10" in row["held_out"] else ""
        parent = f"from {row['parent']}" if row["parent"] else ""
        print(f"{mark} {row['version']:<8} {when:<16} {parent:<14} {score:<24} {row['note']}".rstrip())
    print("(* active; `argot models rollback [VERSION]` goes back)")
    return 0


def cmd_rollback(args: argparse.Namespace, services: Services) -> int:
    from engine.learning.promotion import rollback

    before = services.active_version().name
    version, synced = rollback(services.registry, services.chroma, services.index(),
                               services.embedder, args.version)
    extra = f" ({len(synced.updated)} documents re-embedded, {len(synced.removed)} removed " \
            "to match the index)" if synced.updated or synced.removed else ""
    say(f"rolled back: {before} → {version.name}{extra}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="run one learning cycle now and print its report")
    train.add_argument("--json", action="store_true", help="print the JSON report")
    train.add_argument("--force", action="store_true",
                       help="run even if fewer than ARGOT_MIN_NEW_RATINGS ratings are new")
    train.add_argument("--child", action="store_true",
                       help="train in a child process with ARGOT_TRAIN_THREADS threads, as the "
                            "scheduled job does")
    train.set_defaults(run=cmd_train)

    models = sub.add_parser("models", help="list model versions; `rollback` goes back")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(run=cmd_models)
    models_sub = models.add_subparsers(dest="models_command", metavar="ACTION")
    back = models_sub.add_parser("rollback", help="make an earlier version active again")
    back.add_argument("version", nargs="?", metavar="VERSION",
                      help="the version (default: the one active before the current one)")
    back.set_defaults(run=cmd_rollback)
