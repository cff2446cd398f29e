"""`argot ingest`, `argot ask`, `argot forget`: filling the index and asking it."""

from __future__ import annotations

import argparse
import json

from bot.cli.common import say
from bot.services import Services
from engine.search.fusion import MODES


def cmd_ingest(args: argparse.Namespace, services: Services) -> int:
    from bot.knowledge import ingest
    from engine.knowledge.sources import collect

    if any(target.startswith("slack://") for target in args.targets):
        from bot.channelindex import cli_ingest

        if not all(target.startswith("slack://") for target in args.targets):
            say("error: give slack://CHANNEL targets on their own, apart from files and URLs")
            return 2
        return cli_ingest(args.targets, services, say)
    collected = collect(args.targets)
    for error in collected.errors:
        say(f"error: {error}")
    report = ingest(services, collected, say)
    say(f"{report.summary()} ({len(collected.images)} images)")
    return 1 if collected.errors or report.errors else 0


def cmd_forget(args: argparse.Namespace, services: Services) -> int:
    removed = services.ingestor().forget(args.doc_id) + services.images.forget(args.doc_id)
    if not removed:
        say(f"error: no document with id {args.doc_id!r} in the index")
        return 1
    say(f"forgot {args.doc_id} ({removed} chunks)")
    return 0


def cmd_ask(args: argparse.Namespace, services: Services) -> int:
    from engine.search.retrieval import MAX_QUERY_CHARS

    if args.image:
        return ask_image(args, services)
    question = args.question or ""
    if len(question) > MAX_QUERY_CHARS:
        say(f"note: the question was cut to its first {MAX_QUERY_CHARS} characters")
    retriever = services.retriever()
    hits = retriever.search(question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps({"query": question[:MAX_QUERY_CHARS],
                          "model_version": services.active_version().name,
                          "hits": [hit.as_dict() for hit in hits]}, ensure_ascii=False))
        return 0
    print_hits(hits)
    return 0


def ask_image(args: argparse.Namespace, services: Services) -> int:
    """`argot ask --image FILE`: the documents that match a picture."""
    from pathlib import Path

    from engine.images.clip import ImagesUnavailable
    from engine.images.decoding import read_image_file

    if args.question:
        say("error: give a question or --image FILE, not both")
        return 2
    picture = read_image_file(Path(args.image))
    try:
        answer = services.images.search(picture, k=args.k)
    except ImagesUnavailable as exc:
        say(f"error: image search is off: {exc}")
        return 2
    if args.json:
        print(json.dumps({"query": args.image, "modality": "image", "image_sha256": picture.sha256,
                          "model_version": answer.model_id,
                          "hits": [hit.as_dict() for hit in answer.hits]}, ensure_ascii=False))
        return 0
    print_hits(answer.hits)
    return 0


def print_hits(hits: list) -> None:
    if not hits:
        print("No matching documents. Ingest some with `argot ingest PATH`.")
    for rank, hit in enumerate(hits, start=1):
        excerpt = " ".join(hit.text.split())[:200]
        print(f"{rank}. {hit.title or hit.doc_id}  [{hit.doc_id}]  score {hit.score:.3f}")
        print(f"   {excerpt}")
        if hit.url or hit.source:
            print(f"   {hit.url or hit.source}")


def register(sub: argparse._SubParsersAction) -> None:
    ingest = sub.add_parser("ingest", help="add folders, files, URLs and Slack channels "
                            "(slack://CHANNEL_ID) to the index")
    ingest.add_argument("targets", nargs="+", metavar="PATH_URL_OR_CHANNEL")
    ingest.set_defaults(run=cmd_ingest)

    forget = sub.add_parser("forget", help="remove one document and all its chunks")
    forget.add_argument("doc_id", metavar="DOC_ID")
    forget.set_defaults(run=cmd_forget)

    ask = sub.add_parser("ask", help="ask a question from the command line")
    ask.add_argument("question", nargs="?", metavar="QUESTION")
    ask.add_argument("-k", type=int, default=5, help="how many documents (default 5)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--image", metavar="FILE", help="search with an image instead")
    ask.add_argument("--mode", choices=MODES,
                     help="retrieval mode (default: ARGOT_RETRIEVAL or hybrid)")
    ask.set_defaults(run=cmd_ask)
