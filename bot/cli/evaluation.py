"""`argot eval`, `argot feedback export|import-faq`, `argot synth`, `argot map`:
measuring models on the team's questions and feeding the learning loop."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import say
from bot.services import Services
from engine.errors import ArgotError
from engine.search.fusion import MODES

if TYPE_CHECKING:
    from engine.evaluation.compare import ModelCandidate
    from engine.evaluation.corpus import EvalCorpus
    from engine.evaluation.vectors import EmbeddingCache


def index_corpus(services: Services) -> EvalCorpus:
    from engine.evaluation.corpus import EvalCorpus

    corpus = EvalCorpus.from_index(services.index())
    if not len(corpus):
        raise ArgotError("The index is empty. Ingest the team's documents first: "
                         "`argot ingest PATH`.")
    return corpus


def eval_cache(services: Services, enabled: bool = True) -> EmbeddingCache:
    from engine.evaluation.vectors import EmbeddingCache

    return EmbeddingCache(services.settings.home / "cache" / "eval" if enabled else None)


def model_candidates(services: Services, specs: list[str], all_versions: bool
                     ) -> list[ModelCandidate]:
    """`active`, `base`, a registered version, `openai:MODEL`, or a model name or path."""
    from engine.embedders import build_text_embedder
    from engine.evaluation.compare import ModelCandidate
    from engine.registry import BASE

    registry = services.registry
    active = services.active_version()
    known = {version.name: version for version in registry.versions()}
    wanted = list(specs) or (["active"] if active.name == BASE else ["active", BASE])
    if all_versions:
        wanted += [v for v in known if v not in wanted and v != active.name]
    base_name = services.settings.model or "all-MiniLM-L6-v2"
    candidates: list[ModelCandidate] = []
    for spec in dict.fromkeys(wanted):
        if spec == "active" or spec in known:
            version = active if spec == "active" else known[spec]
            label = base_name if version.name == BASE else version.name
            name = f"{label} (active)" if version.name == active.name else label
            candidates.append(ModelCandidate(name, lambda v=version: services.embedder(v)))
        else:
            candidates.append(ModelCandidate(spec, lambda s=spec: build_text_embedder(s)))
    return candidates


def cmd_eval(args: argparse.Namespace, services: Services) -> int:
    from engine.evaluation.compare import compare
    from engine.evaluation.querysets import QuerySet
    from engine.evaluation.scoreboard import draw_comparison, render_text

    if args.from_feedback == bool(args.queries):
        say("error: give a query file (QUERIES.jsonl) or --from-feedback, not both or neither")
        return 2
    asked = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = sorted(set(asked) - set(MODES))
    if unknown or not asked:
        say(f"error: --modes takes dense, hybrid and bm25, not {', '.join(unknown) or 'nothing'}")
        return 2
    corpus = index_corpus(services)
    if args.from_feedback:
        queries = QuerySet.from_feedback(services.feedback, split=args.split.replace("-", "_"))
        if not len(queries):
            say(f"error: no rated questions in the {args.split} slice yet. Rate some answers "
                "with 👍 in Slack, import a FAQ (`argot feedback import-faq FILE`), or use "
                "--split all")
            return 1
    else:
        queries = QuerySet.load(Path(args.queries))
    queries = queries.restricted_to(corpus.doc_ids, strict=args.strict)
    for warning in queries.warnings:
        say(f"warning: {warning}")
    modes = [mode for mode in ("dense", "hybrid") if mode in asked]
    candidates = model_candidates(services, args.model, args.all_versions) if modes else []
    comparison = compare(corpus, queries, candidates, modes=modes, bm25="bm25" in asked,
                         cache=eval_cache(services, not args.no_cache), progress=say)
    if args.json:
        print(json.dumps(comparison.as_dict(), ensure_ascii=False))
    else:
        print(render_text(comparison))
    if args.plot:
        say(f"plot written to {draw_comparison(comparison, Path(args.plot))}")
    return 1 if comparison.failed else 0


def cmd_export(args: argparse.Namespace, services: Services) -> int:
    out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115
    count = 0
    try:
        for row in services.feedback.export():
            print(json.dumps(row, ensure_ascii=False), file=out)
            count += 1
    finally:
        if out:
            out.close()
    say(f"{count} ratings exported" + (f" to {args.out}" if args.out else ""))
    return 0


def cmd_import_faq(args: argparse.Namespace, services: Services) -> int:
    from engine.knowledge.faq import faq_documents, faq_training_pairs, read_faq

    entries = read_faq(Path(args.file), prefix=args.prefix)
    report = services.ingestor().ingest(faq_documents(entries))
    added = services.feedback.add_training_pairs(faq_training_pairs(entries, args.negatives))
    say(f"{len(entries)} questions from {args.file}: answers {report.summary()}; "
        f"{added} training pairs added ({len(entries) - added} already known)")
    return 0


def cmd_synth(args: argparse.Namespace, services: Services) -> int:
    from engine.learning.synth import SYNTHETIC_MAX_SHARE, ChatClient, cap_synthetic_share, synthesize

    corpus = index_corpus(services)
    store = services.feedback
    pairs = store.training_pairs()
    existing = [pair.anchor for pair in pairs] + [row["question"] for row in store.export()]
    client = ChatClient(args.base_url, model=args.chat_model, timeout_seconds=args.timeout)
    doc_ids = args.doc or list(corpus.doc_ids)
    if not args.include_private:
        # The endpoint is outside: by default it sees only what every channel may see.
        from engine.learning.starmap import public_documents

        public = public_documents(services.index().iter_chunks(texts=False))
        held = [doc for doc in doc_ids if doc not in public]
        doc_ids = [doc for doc in doc_ids if doc in public]
        say(f"sending only documents visible everywhere to {client.base_url}: {len(doc_ids)} "
            f"({len(held)} restricted to channels or DMs are not sent; --include-private sends them)")
    if args.limit:
        doc_ids = doc_ids[:args.limit]
    report = synthesize(client, corpus, services.embedder(), doc_ids=doc_ids,
                        per_document=args.per_doc, top_k=args.top_k, existing=existing,
                        cache=eval_cache(services), progress=say)
    for error in report.errors:
        say(f"error: {error}")
    if report.stopped:
        say(f"error: {report.stopped}")
    if args.dry_run:
        for pair in report.kept:
            print(json.dumps({"question": pair.anchor, "doc_id": pair.positive}, ensure_ascii=False))
        say(f"{report.summary()} (dry run: nothing stored)")
    else:
        added = store.add_training_pairs(report.kept)
        real = sum(1 for p in pairs if p.source != "synthetic")
        real += sum(1 for row in store.export() if row["vote"] > 0)
        synthetic = store.training_pairs("synthetic")
        usable = cap_synthetic_share(range(real), synthetic)
        say(f"{report.summary()}; {added} stored. At most {SYNTHETIC_MAX_SHARE:.0%} of a training "
            f"set is synthetic: {len(usable)} of {len(synthetic)} synthetic questions are used now "
            "(more as people rate answers)")
    return 1 if report.errors or report.stopped else 0


def cmd_map(args: argparse.Namespace, services: Services) -> int:
    from engine.evaluation.querysets import QuerySet
    from engine.learning.starmap import draw_star_map, star_points

    corpus = index_corpus(services)
    version = services.registry.get(args.model) if args.model else services.active_version()
    embedder = services.embedder(version)
    queries = None if args.no_questions else QuerySet.from_feedback(services.feedback, split="all")
    if queries is not None:
        queries = QuerySet([q for q in queries if q.relevant & set(corpus.doc_ids)], queries.source)
    documents, questions = star_points(embedder, corpus, queries, eval_cache(services))
    out = draw_star_map(documents, questions, Path(args.out), f"Argot star map, model "
                        f"{version.name} ({embedder.model_id})", method=args.method)
    say(f"star map of {len(documents.names)} documents"
        + (f" and {len(questions.names)} questions" if questions else "") + f" written to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="compare models, BM25 and hybrid on your own questions")
    ev.add_argument("queries", nargs="?", metavar="QUERIES.jsonl",
                    help='one {"query": ..., "relevant": [doc ids]} per line')
    ev.add_argument("--model", action="append", default=[], metavar="NAME_OR_PATH",
                    help="a sentence-transformers name or path, openai:MODEL, a registered "
                         "version, `active` or `base`; repeat for several (default: active)")
    ev.add_argument("--all-versions", action="store_true", help="add every registered version")
    ev.add_argument("--from-feedback", action="store_true",
                    help="use the rated questions (and imported FAQ) as the query set")
    ev.add_argument("--split", choices=["held-out", "train", "all"], default="held-out",
                    help="which rated questions with --from-feedback (default held-out)")
    ev.add_argument("--modes", default="dense,hybrid,bm25",
                    help="comma-separated: dense, hybrid, bm25 (default all three)")
    ev.add_argument("--strict", action="store_true",
                    help="unknown document ids in the query file are an error")
    ev.add_argument("--no-cache", action="store_true", help="embed the corpus afresh")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--plot", metavar="FILE.png", help="also draw the metrics as bars")
    ev.set_defaults(run=cmd_eval)

    feedback = sub.add_parser("feedback", help="ratings out, FAQ in")
    commands = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    export = commands.add_parser("export", help="every rating as JSONL")
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    export.set_defaults(run=cmd_export)
    faq = commands.add_parser("import-faq", help="FAQ answers as documents, pairs as training data")
    faq.add_argument("file", metavar="FILE", help="JSONL question/answer, or Markdown with "
                                                  "question headings")
    faq.add_argument("--negatives", type=int, default=3,
                     help="other answers per pair used as negatives (default 3)")
    faq.add_argument("--prefix", help="doc id folder for answers without an id "
                                      "(default faq/<file name>)")
    faq.set_defaults(run=cmd_import_faq)

    synth = sub.add_parser("synth", help="synthetic training questions from a chat model")
    synth.add_argument("--base-url", help="OpenAI-compatible API base (default OPENAI_BASE_URL)")
    synth.add_argument("--chat-model", default="gpt-4o-mini", help="model name at the endpoint")
    synth.add_argument("--per-doc", type=int, default=3, help="questions asked per document")
    synth.add_argument("--limit", type=int, help="only the first N documents")
    synth.add_argument("--doc", action="append", metavar="DOC_ID", help="only these documents")
    synth.add_argument("--top-k", type=int, default=5,
                       help="keep a question only if its document is in the model's top k")
    synth.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    synth.add_argument("--dry-run", action="store_true", help="print kept questions, store nothing")
    synth.add_argument("--include-private", action="store_true",
                       help="also send documents restricted to channels or DMs to the endpoint")
    synth.set_defaults(run=cmd_synth)

    star = sub.add_parser("map", help="draw documents and rated questions as a 2-D star map")
    star.add_argument("--out", required=True, metavar="FILE.png")
    star.add_argument("--method", choices=["pca", "tsne"], default="pca")
    star.add_argument("--model", metavar="VERSION", help="a registered version (default: active)")
    star.add_argument("--no-questions", action="store_true", help="documents only")
    star.set_defaults(run=cmd_map)
