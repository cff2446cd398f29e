"""`argot eval` and the evaluation engine: query files, the held-out split, metrics that
agree with an independent computation, the model table and its cache."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.cli import build_parser
from bot.services import Services
from bot.settings import Settings
from engine.embedders import Kind, TextEmbedder, normalise
from engine.evaluation.compare import ModelCandidate, compare
from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.measure import (
    evaluate,
    evaluate_dense,
    evaluate_retriever,
    ir_evaluator_scores,
    question_rankings,
)
from engine.evaluation.querysets import QuerySet, QuerySetError, held_out
from engine.evaluation.scoreboard import render_markdown, render_text
from engine.evaluation.vectors import EmbeddingCache, QueryVectors
from engine.feedback import AskedQuestion, ShownAnswer, TrainingPair, Vote
from engine.types import Chunk, Document
from tests.conftest import DEMO_KB, REPO
from tests.fakes import FakeEmbedder

DEMO_FAQ = REPO / "bot" / "demo" / "faq.jsonl"


class TableEmbedder(TextEmbedder):
    """Fixed vectors per text, so that every ranking in a test is known in advance."""

    model_id = "table"

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table

    @property
    def dimension(self) -> int:
        return len(next(iter(self.table.values())))

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return normalise(np.array([self.table[text] for text in texts], dtype=np.float32))


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(services: Services, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return int(args.run(args, services))


# -- query files --------------------------------------------------------------------------


def test_query_file_skips_empty_lines_and_names_every_bad_line(tmp_path: Path) -> None:
    good = write(tmp_path / "q.jsonl", [json.dumps({"query": "what is RLQ?", "relevant": ["g/rlq"]}),
                                        "", "   ",
                                        json.dumps({"query": "aar", "relevant": "g/aar"})])
    queries = QuerySet.load(good)
    assert queries.texts == ["what is RLQ?", "aar"]
    assert queries.queries[1].relevant == {"g/aar"} and queries.queries[1].where.endswith(":4")

    bad = write(tmp_path / "bad.jsonl", [json.dumps({"query": "ok", "relevant": ["a"]}), "{oops",
                                         json.dumps({"relevant": ["a"]}),
                                         json.dumps({"query": "x", "relevant": []})])
    with pytest.raises(QuerySetError) as error:
        QuerySet.load(bad)
    message = str(error.value)
    assert f"{bad}:2: not JSON" in message
    assert f"{bad}:3: \"query\" is missing" in message
    assert f"{bad}:4: \"relevant\" must be" in message
    assert f"{bad}:1" not in message

    with pytest.raises(QuerySetError, match="no queries"):
        QuerySet.load(write(tmp_path / "empty.jsonl", ["", ""]))
    with pytest.raises(QuerySetError, match="cannot read"):
        QuerySet.load(tmp_path / "missing.jsonl")


def test_unknown_document_ids_are_named_not_silently_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "q.jsonl", [
        json.dumps({"query": "rlq", "relevant": ["g/rlq", "g/typo"]}),
        json.dumps({"query": "nothing", "relevant": ["g/gone"]}),
    ])
    queries = QuerySet.load(path).restricted_to({"g/rlq", "g/aar"})
    assert queries.texts == ["rlq"] and queries.queries[0].relevant == {"g/rlq"}
    assert any(f"{path}:1" in w and "'g/typo'" in w for w in queries.warnings)
    assert any(f"{path}:2" in w and "'g/gone'" in w and "skipped" in w for w in queries.warnings)

    with pytest.raises(QuerySetError, match="g/typo"):
        QuerySet.load(path).restricted_to({"g/rlq", "g/aar"}, strict=True)
    with pytest.raises(QuerySetError, match="Ingest the knowledge base"):
        QuerySet.load(path).restricted_to({"other/doc"})


def test_held_out_is_a_stable_fifth_of_the_questions() -> None:
    questions = [f"what does term number {i} mean?" for i in range(2000)]
    share = sum(map(held_out, questions)) / len(questions)
    assert 0.17 < share < 0.23
    assert held_out("What is RLQ?") == held_out("  what is   rlq ") == held_out("what is rlq")
    assert [held_out(q) for q in questions[:50]] == [held_out(q) for q in questions[:50]]


def test_rated_questions_become_a_query_set_split_by_held_out(services: Services) -> None:
    store = services.feedback
    texts = [f"who owns service {i}?" for i in range(40)]
    for i, text in enumerate(texts):
        qid = store.record_question(AskedQuestion(text=text, user="U1", channel="C1"))
        store.record_shown(ShownAnswer(qid, f"services/s{i}", 1, 0.9, "base", "C1", f"{i}.1"))
        store.record_vote(Vote(qid, f"services/s{i}", "U1", +1))
        store.record_vote(Vote(qid, f"services/s{i}", "U2", +1))
        store.record_vote(Vote(qid, "services/wrong", "U1", -1))
    both = store.record_question(AskedQuestion(text="contested?", user="U1"))
    store.record_vote(Vote(both, "services/c", "U1", +1))
    store.record_vote(Vote(both, "services/c", "U2", -1))
    store.add_training_pairs([TrainingPair("faq", "how do I get access?", "faq/access", ())])

    everything = QuerySet.from_feedback(store, split="all")
    assert len(everything) == 41  # net-zero "contested?" has nothing to find
    assert {q.query: set(q.relevant) for q in everything}["who owns service 3?"] == {"services/s3"}
    held = QuerySet.from_feedback(store)
    train = QuerySet.from_feedback(store, split="train")
    assert set(held.texts).isdisjoint(train.texts) and len(held) + len(train) == 41
    assert all(held_out(text) for text in held.texts) and held.source == "feedback (held-out)"


def test_argot_eval_holds_out_the_rated_questions_the_cycle_holds_out(services: Services) -> None:
    from engine.learning.trainingdata import gather_ratings

    store = services.feedback
    for i in range(30):
        for text in (f"who runs codename{i}", f"quick question: who runs codename{i}"):
            qid = store.record_question(AskedQuestion(text=text, user="U1", channel="C1"))
            store.record_vote(Vote(qid, f"services/s{i}", "U1", +1))

    held = QuerySet.from_feedback(store, include_faq=False)
    _, cycle_held = gather_ratings(store).split()

    assert held.texts and sorted(held.texts) == sorted(q.text for q in cycle_held)
    assert all(text.removeprefix("quick question: ") in held.texts for text in held.texts)


# -- metrics agree with independent computations ------------------------------------------------


def test_dense_metrics_match_a_hand_computation_with_best_chunk_per_document() -> None:
    chunks = [Chunk("a", 0, "a0"), Chunk("b", 0, "b0"), Chunk("c", 0, "c0"), Chunk("c", 1, "c1")]
    embedder = TableEmbedder({"a0": [1, 0, 0], "b0": [0, 1, 0], "c0": [0, 0, 1], "c1": [.6, .8, 0],
                              "q1": [.8, .6, 0], "q2": [0, 0, 1]})
    queries = QuerySet.from_pairs([("q1", ["a"]), ("q2", ["b", "c"])])
    # q1: c (0.96 via its second chunk), a (0.8), b (0.6) -> relevant a at rank 2
    # q2: c (1.0), then a and b tie at 0 and the smaller id goes first -> b at rank 3
    ndcg_q1 = (1 / math.log2(3)) / 1
    ndcg_q2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    scores = evaluate_dense(embedder, EvalCorpus.from_chunks(chunks), queries)
    assert scores.ndcg_at_10 == pytest.approx((ndcg_q1 + ndcg_q2) / 2)
    assert scores.mrr_at_10 == pytest.approx((0.5 + 1.0) / 2)
    assert (scores.recall_at_1, scores.recall_at_5, scores.recall_at_10) == (0.25, 1.0, 1.0)
    assert scores.queries == 2


def test_dense_metrics_agree_with_sentence_transformers_evaluator() -> None:
    rows = [json.loads(line) for line in DEMO_FAQ.read_text("utf-8").splitlines() if line.strip()]
    documents = {f"faq/{i}": row["answer"] for i, row in enumerate(rows)}
    queries = QuerySet.from_pairs([(row["question"], [f"faq/{i}"]) for i, row in enumerate(rows)])
    corpus = EvalCorpus.from_texts(documents)
    assert len(corpus.chunks) == len(corpus), "each FAQ answer is one chunk: a document-level corpus"
    embedder = FakeEmbedder()
    ours = evaluate_dense(embedder, corpus, queries)
    theirs = ir_evaluator_scores(embedder, corpus.document_texts(), queries)
    assert ours.queries == theirs.queries == len(rows)
    for name in ("ndcg_at_10", "mrr_at_10", "recall_at_1", "recall_at_5", "recall_at_10"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), abs=1e-9), name
    assert 0 < ours.ndcg_at_10 < 1


def test_in_memory_evaluation_matches_the_production_retriever(services: Services) -> None:
    documents = [
        Document("glossary/rlq", "RLQ is the rate limit queue where throttled carrier jobs wait.",
                 title="RLQ"),
        Document("glossary/aar", "An AAR is the after action review written after each incident.",
                 title="AAR"),
        Document("runbooks/deploy", "Deploy Mistral through the slipway pipeline on weekdays.",
                 title="Deploying"),
        Document("teams/pursers", "The Pursers own billing: Mistral invoices and payouts.",
                 title="Pursers"),
    ]
    services.ingestor().ingest(documents)
    queries = QuerySet.from_pairs([("rate limit queue", ["glossary/rlq"]),
                                   ("review after an incident", ["glossary/aar"]),
                                   ("who owns billing invoices", ["teams/pursers"]),
                                   ("how to deploy mistral", ["runbooks/deploy"])])
    corpus = EvalCorpus.from_index(services.index())
    retriever = services.retriever()
    for mode in ("dense", "bm25", "hybrid"):
        assert evaluate(corpus, queries, services.embedder(), mode) == evaluate_retriever(
            retriever, queries, mode), mode


class WeightedWordsEmbedder(FakeEmbedder):
    """The fake bag of words with a fixed weight per word, so that two documents almost
    never tie: Chroma (float32 HNSW) and numpy would break an exact tie differently."""

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                digest = int(hashlib.md5(word.encode()).hexdigest(), 16)
                vectors[row, digest % self.dimension] += 1.0 + (digest >> 64) % 997 / 997
            vectors[row, 0] += 1e-3
        return normalise(vectors)


def test_argot_eval_ranks_every_question_as_the_bot_answers_it(settings: Settings) -> None:
    from engine.knowledge.sources import collect

    services = Services(settings, base_embedder=WeightedWordsEmbedder())
    documents = [document for document in collect([str(DEMO_KB)]).documents
                 if document.doc_id.startswith(("services/", "runbooks/", "teams/"))]
    services.ingestor().ingest(documents)
    corpus = EvalCorpus.from_index(services.index())
    assert 30 <= len(corpus) < len(corpus.chunks), "a few dozen documents, some of several chunks"
    queries = QuerySet.load(REPO / "bot" / "demo" / "questions.jsonl").restricted_to(corpus.doc_ids)
    assert len(queries) >= 40
    retriever = services.retriever()
    for mode in ("hybrid", "dense", "bm25"):
        answered = [[hit.doc_id for hit in retriever.search(text, k=10, mode=mode)]  # type: ignore[arg-type]
                    for text in queries.texts]
        measured = question_rankings(corpus, queries, services.embedder(), mode)  # type: ignore[arg-type]
        assert measured == answered, mode


# -- the table -----------------------------------------------------------------------------------


class BrokenEmbedder(FakeEmbedder):
    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        raise RuntimeError("CUDA out of memory")


def test_compare_measures_every_model_and_keeps_going_past_a_broken_one(tmp_path: Path) -> None:
    from engine.errors import EmbedderError
    from engine.knowledge.chunking import chunk_document
    from engine.knowledge.sources import collect

    corpus = EvalCorpus.from_chunks(chunk for document in collect([str(DEMO_KB)]).documents
                                    if document.doc_id.startswith("glossary/")
                                    for chunk in chunk_document(document))
    queries = QuerySet.load(REPO / "bot" / "demo" / "questions.jsonl").restricted_to(corpus.doc_ids)
    assert len(queries) > 20 and queries.warnings  # questions about other folders are named

    def cannot_load() -> TextEmbedder:
        raise EmbedderError("Cannot load embedding model 'nope/missing': not found")

    first = FakeEmbedder()
    cache = EmbeddingCache(tmp_path / "cache")
    table = compare(corpus, queries, [ModelCandidate("fake", lambda: first),
                                      ModelCandidate("nope/missing", cannot_load),
                                      ModelCandidate("broken", lambda: BrokenEmbedder())],
                    cache=cache)
    by_key = {(row.name, row.mode): row for row in table.rows}
    assert set(by_key) == {("fake", "dense"), ("fake", "hybrid"), ("bm25", "bm25"),
                           ("nope/missing", "dense"), ("nope/missing", "hybrid"),
                           ("broken", "dense"), ("broken", "hybrid")}
    assert "not found" in by_key["nope/missing", "dense"].error
    assert by_key["broken", "hybrid"].error == "RuntimeError: CUDA out of memory"
    fake = by_key["fake", "dense"]
    assert fake.scores == evaluate_dense(FakeEmbedder(), corpus, queries)
    assert fake.dimension == 256 and fake.docs_per_second > 0 and fake.query_ms >= 0
    assert not fake.cached and table.best() is not None and table.best().scores
    text = render_text(table)
    assert "nDCG@10" in text and "failed: nope/missing: Cannot load" in text and "◀ best" in text
    assert render_markdown(table).count("\n") == len(table.rows) + 1
    assert json.loads(json.dumps(table.as_dict()))["results"][0]["ndcg@10"] == round(
        fake.scores.ndcg_at_10, 4)

    again = FakeEmbedder()
    second = compare(corpus, queries, [again], modes=("dense",), bm25=False, cache=cache)
    assert second.rows[0].cached and second.rows[0].scores == fake.scores
    assert all(size == 1 for size in again.calls), "a second run embeds only the questions"


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def demo_services(services: Services) -> Services:
    from engine.knowledge.sources import collect

    services.ingestor().ingest([document for document in collect([str(DEMO_KB)]).documents
                                if document.doc_id.startswith(("glossary/", "teams/"))])
    return services


def test_argot_eval_prints_the_table_and_json(demo_services: Services, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "q.jsonl", [
        json.dumps({"query": "what does rlq stand for", "relevant": ["glossary/rlq"]}),
        json.dumps({"query": "who are the pursers",
                    "relevant": ["teams/payments-engineering", "glossary/x"]}),
        json.dumps({"query": "what is a berth", "relevant": ["glossary/berth"]}),
    ])
    assert run_cli(demo_services, "eval", str(path), "--plot", str(tmp_path / "bars.png")) == 0
    out, err = capsys.readouterr()
    assert "3 questions" in out
    assert "all-MiniLM-L6-v2 (active)" in out and "bm25" in out and "hybrid" in out
    assert "'glossary/x'" in err and (tmp_path / "bars.png").stat().st_size > 1000

    assert run_cli(demo_services, "eval", str(path), "--json", "--modes", "dense") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["queries"] == 3 and [r["mode"] for r in report["results"]] == ["dense"]
    assert set(report["results"][0]) >= {"ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10",
                                         "dimension", "size_mb", "docs_per_second", "query_ms"}
    assert report["results"][0]["embeddings_cached"] is True


def test_argot_eval_names_a_model_that_cannot_load_and_evaluates_the_rest(
        demo_services: Services, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "q.jsonl", [json.dumps({"query": "rlq", "relevant": ["glossary/rlq"]})])
    code = run_cli(demo_services, "eval", str(path), "--model", "active",
                   "--model", str(tmp_path / "no-such-model"), "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    failed = [r for r in report["results"] if r["error"]]
    assert failed and all("no-such-model" in r["error"] for r in failed)
    assert any(r["ndcg@10"] is not None for r in report["results"] if not r["error"])


def test_argot_eval_from_feedback_uses_the_held_out_ratings(
        demo_services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(demo_services, "eval", "--from-feedback") == 1
    assert "no rated questions" in capsys.readouterr().err
    store = demo_services.feedback
    questions = [q for q in (f"what does rlq mean, take {i}" for i in range(40)) if held_out(q)]
    for text in questions:
        qid = store.record_question(AskedQuestion(text=text, user="U1"))
        store.record_vote(Vote(qid, "glossary/rlq", "U1", +1))
    assert run_cli(demo_services, "eval", "--from-feedback", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["queries"] == len(questions) and report["query_source"] == "feedback (held-out)"


def test_feedback_export_writes_every_rating_as_jsonl(services: Services, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    store = services.feedback
    qid = store.record_question(AskedQuestion(text="what is rlq?", user="U1", channel="C1"))
    store.record_shown(ShownAnswer(qid, "glossary/rlq", 1, 0.8, "base", "C1", "1.1"))
    store.record_vote(Vote(qid, "glossary/rlq", "U1", +1))
    store.record_vote(Vote(qid, "glossary/rlq", "U2", -1))
    assert run_cli(services, "feedback", "export") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["question"], r["doc_id"], r["user"], r["vote"]) for r in rows] == [
        ("what is rlq?", "glossary/rlq", "U1", 1), ("what is rlq?", "glossary/rlq", "U2", -1)]
    assert run_cli(services, "feedback", "export", "--out", str(tmp_path / "r.jsonl")) == 0
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2


def test_argot_eval_needs_a_query_file_or_feedback(services: Services,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(services, "eval") == 2
    assert "QUERIES.jsonl" in capsys.readouterr().err
    assert run_cli(services, "eval", "q.jsonl", "--modes", "dense,sparse") == 2
    assert "not sparse" in capsys.readouterr().err


# -- real models ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_minilm_agrees_with_the_evaluator_and_a_second_local_model_is_compared(
        minilm, tmp_path: Path) -> None:
    rows = [json.loads(line) for line in DEMO_FAQ.read_text("utf-8").splitlines() if line.strip()]
    documents = {f"faq/{i}": row["answer"] for i, row in enumerate(rows)}
    queries = QuerySet.from_pairs([(row["question"], [f"faq/{i}"]) for i, row in enumerate(rows)])
    corpus = EvalCorpus.from_texts(documents)
    ours = evaluate_dense(minilm, corpus, queries)
    theirs = ir_evaluator_scores(minilm.model, corpus.document_texts(), queries)
    assert ours.ndcg_at_10 == pytest.approx(theirs.ndcg_at_10, abs=1e-6)
    assert ours.recall_at_1 == pytest.approx(theirs.recall_at_1, abs=1e-6)
    assert ours.ndcg_at_10 > 0.8  # MiniLM finds FAQ answers from their questions

    from engine.embedders import SentenceTransformerEmbedder

    shallow = tmp_path / "minilm-l2"
    model = SentenceTransformerEmbedder().model
    encoder = model[0].auto_model
    encoder.encoder.layer = encoder.encoder.layer[:2]
    encoder.config.num_hidden_layers = 2
    model.save(str(shallow))
    table = compare(corpus, queries, [minilm, SentenceTransformerEmbedder(str(shallow))],
                    modes=("dense",), bm25=False, cache=EmbeddingCache(tmp_path / "cache"))
    full, cut = table.rows
    assert full.scores == ours and cut.scores and cut.scores.ndcg_at_10 != ours.ndcg_at_10
    assert full.dimension == cut.dimension == 384 and full.size_bytes > cut.size_bytes > 10**7


def test_query_vectors_embed_each_question_once_and_the_unknown_ones_in_one_batch() -> None:
    embedder = FakeEmbedder()
    questions = QueryVectors(embedder)
    first = questions.embed_batch(["what is the tollbooth", "who owns sparkles"], "query")
    again = questions.embed_batch(["who owns sparkles", "what is the tollbooth", "what is yeet"], "query")

    assert embedder.calls == [2, 1]
    assert np.array_equal(again[:2], first[::-1])
    assert np.array_equal(again[2], embedder.embed_query("what is yeet"))
