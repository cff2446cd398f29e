"""`argot ingest`, `argot ask`, `argot forget`: filling the index and asking it."""

from __future__ import annotations

import argparse
import json

from bot.cli.common import say
from bot.services import Services


def cmd_ingest(args: argparse.Namespace, services: Services) -> int:
    from engine.sources import collect

    collected = collect(args.targets)
    for error in collected.errors:
        say(f"error: {error}")
    ingestor = services.ingestor()
    report = ingestor.ingest(
        collected.documents,
        progress=lambda done, total: say(f"embedded {done}/{total} chunks"))
    if collected.images:
        report.errors.extend(ingest_images(services, collected.images))
    say(f"{report.summary()} ({len(collected.images)} images)")
    return 1 if collected.errors or report.errors else 0


def ingest_images(services: Services, images: list) -> list[str]:
    """Images go to the image index when image search is on (see engine/images.py)."""
    say(f"note: {len(images)} image files found; image search is not available in this "
        "build, they were not indexed")
    return []


def cmd_forget(args: argparse.Namespace, services: Services) -> int:
    removed = services.ingestor().forget(args.doc_id)
    if not removed:
        say(f"error: no document with id {args.doc_id!r} in the index")
        return 1
    say(f"forgot {args.doc_id} ({removed} chunks)")
    return 0


def cmd_ask(args: argparse.Namespace, services: Services) -> int:
    from engine.retrieval import MAX_QUERY_CHARS

    if args.image:
        say("error: image search is not available in this build")
        return 2
    question = args.question or ""
    if len(question) > MAX_QUERY_CHARS:
        say(f"note: the question was cut to its first {MAX_QUERY_CHARS} characters")
    retriever = services.retriever()
    hits = retriever.search(question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps({"query": question[:MAX_QUERY_CHARS],
                          "model_version": services.active_version().version,
                          "hits": [hit.as_dict() for hit in hits]}, ensure_ascii=False))
        return 0
    if not hits:
        print("No matching documents. Ingest some with `argot ingest PATH`.")
    for rank, hit in enumerate(hits, start=1):
        excerpt = " ".join(hit.text.split())[:200]
        print(f"{rank}. {hit.title or hit.doc_id}  [{hit.doc_id}]  score {hit.score:.3f}")
        print(f"   {excerpt}")
        if hit.url or hit.source:
            print(f"   {hit.url or hit.source}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser("ingest", help="add folders, files and URLs to the index")
    ingest.add_argument("targets", nargs="+", metavar="PATH_OR_URL")
    ingest.set_defaults(run=cmd_ingest)

    forget = sub.add_parser("forget", help="remove one document and all its chunks")
    forget.add_argument("doc_id", metavar="DOC_ID")
    forget.set_defaults(run=cmd_forget)

    ask = sub.add_parser("ask", help="ask a question from the command line")
    ask.add_argument("question", nargs="?", metavar="QUESTION")
    ask.add_argument("-k", type=int, default=5, help="how many documents (default 5)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--image", metavar="FILE", help="search with an image instead")
    ask.add_argument("--mode", choices=["dense", "bm25", "hybrid"],
                     help="retrieval mode (default: ARGOT_RETRIEVAL or hybrid)")
    ask.set_defaults(run=cmd_ask)
