"""`argot glossary [--json]` and `argot glossary reject TERM`: the team's vocabulary.

Entries come from two places: learnt by a learning cycle from ratings (stored with the
active version, `engine.search.profile`) and defined with `/argot define` (documents in
the index). Each is shown with its evidence: how many rated questions support a learnt
entry, who defined a defined one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.cli.common import say
from bot.services import Services


def glossary_rows(services: Services) -> list[dict[str, Any]]:
    """Learnt entries (most evidence first), then defined ones (by term)."""
    from engine.search.profile import LearnedProfile, rejected_terms
    from engine.search.vocabulary import defined_entries

    active = services.active_version()
    profile = LearnedProfile.load(Path(active.path) if active.path else None,
                                  rejected_terms(services.registry.root))
    rows = [entry.as_dict() for entry in profile.vocabulary.entries if entry.source == "learnt"]
    defined: dict[str, tuple[str, str, str, str]] = {}
    for chunk, meta in services.index().iter_chunks():
        if chunk.doc_id.startswith("defined/") and chunk.position == 0:
            defined[chunk.doc_id] = (chunk.doc_id, chunk.title, chunk.text,
                                     str(meta.get("m.author") or chunk.source or ""))
    for doc_id, term, text, author in sorted(defined.values(), key=lambda row: row[1].lower()):
        for entry in defined_entries([(doc_id, term, text)]):
            rows.append({**entry.as_dict(), "defined_by": author})
    return rows


def cmd_glossary(args: argparse.Namespace, services: Services) -> int:
    from engine.search.profile import rejected_terms

    rows = glossary_rows(services)
    if args.json:
        print(json.dumps({"active_version": services.active_version().name, "entries": rows,
                          "rejected": sorted(rejected_terms(services.registry.root))},
                         ensure_ascii=False))
        return 0
    if not rows:
        say("The glossary is empty: nothing learnt from ratings yet (`argot train`), nothing "
            "defined (`/argot define TERM: DEFINITION` in Slack).")
        return 0
    for row in rows:
        if row["source"] == "learnt":
            why = f"learnt from {row['evidence']} rated question{'s' if row['evidence'] != 1 else ''}"
            example = f'  e.g. "{row["examples"][0]}"' if row["examples"] else ""
        else:
            why, example = f"defined by {row.get('defined_by') or 'someone'}", ""
        print(f"{row['term']} → {row['expansion']}  ({why}){example}")
    print("(`argot glossary reject TERM` removes a learnt entry for good)")
    return 0


def cmd_reject(args: argparse.Namespace, services: Services) -> int:
    from engine.search.profile import reject_term
    from engine.search.tokens import tokenize

    term = " ".join(args.term)
    wanted = tuple(tokenize(term))
    rows = glossary_rows(services)
    learnt = [row for row in rows if row["source"] == "learnt"]
    match = [row for row in learnt if tuple(tokenize(row["term"])) == wanted]
    defined = [row for row in rows if row["source"] == "defined" and tuple(tokenize(row["term"])) == wanted]
    if defined and not match:
        say(f"{term!r} is defined with /argot define, not learnt; remove it with "
            f"`argot forget {defined[0]['documents'][0]}`.")
        return 1
    reject_term(services.registry.root, term)
    if match:
        say(f"rejected: {match[0]['term']} → {match[0]['expansion']}; answers stop using it now "
            "and no learning cycle will learn it again.")
    else:
        known = ", ".join(row["term"] for row in learnt) or "none"
        say(f"{term!r} is not a learnt entry now (learnt: {known}); no cycle will learn it.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    glossary = sub.add_parser("glossary", help="the team's vocabulary: learnt and defined entries")
    glossary.add_argument("--json", action="store_true", help="print JSON")
    glossary.set_defaults(run=cmd_glossary)
    actions = glossary.add_subparsers(dest="glossary_command", metavar="ACTION")
    reject = actions.add_parser("reject", help="remove a learnt entry for good")
    reject.add_argument("term", nargs="+", metavar="TERM", help="the term, e.g. tollbooth")
    reject.set_defaults(run=cmd_reject)
