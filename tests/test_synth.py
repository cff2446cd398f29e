"""Synthetic questions against a local fake OpenAI-compatible chat endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.cli import build_parser
from bot.services import Services
from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.vectors import EmbeddingCache
from engine.feedback import TrainingPair
from engine.learning.synth import (
    ChatClient,
    QuestionFilter,
    SynthError,
    cap_synthetic_share,
    copies_document,
    parse_questions,
    synthesize,
)
from engine.types import Document
from tests.fakes import FakeEmbedder

DOCUMENTS = {
    "glossary/rlq": "RLQ means rate limit queue. Throttled carrier jobs wait there until the "
                    "partner API lets them through again.",
    "glossary/aar": "An AAR is the after action review. It is written within five days of "
                    "every G1 or G2 incident and reviewed at the Tuesday ops meeting.",
    "runbooks/deploy": "Deploying Mistral goes through the slipway pipeline; deploys are "
                       "frozen on Fridays after noon.",
}
GOOD_QUESTIONS = {
    "glossary/rlq": ["where do throttled carrier jobs wait?", "what is the RLQ for partner API jobs?",
                     "RLQ means rate limit queue. Throttled carrier jobs wait there until the partner?"],
    "glossary/aar": ["when is an after action review due for an incident?",
                     "when is an after action review due for an incident?",
                     "who reads the deploy freeze rules for slipway on fridays?"],
    "runbooks/deploy": ["can I deploy Mistral through slipway on a Friday afternoon?"],
}

Reply = tuple[int, str, float]  # status, body, delay in seconds


def chat_body(content: str) -> str:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})


def for_document(prompt: str) -> str:
    return next(doc_id for doc_id, text in DOCUMENTS.items() if text[:40] in prompt)


class FakeChat:
    """A chat endpoint on 127.0.0.1 whose replies a test scripts per request."""

    def __init__(self, reply: Callable[[str], Reply]) -> None:
        self.reply = reply
        self.prompts: list[str] = []
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][0]["content"]
                chat.prompts.append(prompt)
                status, text, delay = chat.reply(prompt)
                time.sleep(delay)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: that is the point of the test

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat() -> Iterator[Callable[[Callable[[str], Reply]], FakeChat]]:
    started: list[FakeChat] = []

    def start(reply: Callable[[str], Reply]) -> FakeChat:
        started.append(FakeChat(reply))
        return started[-1]

    yield start
    for server in started:
        server.close()


def good_reply(prompt: str) -> Reply:
    return 200, chat_body(json.dumps(GOOD_QUESTIONS[for_document(prompt)])), 0.0


def test_replies_are_parsed_leniently_and_garbage_gives_nothing() -> None:
    assert parse_questions('["why y?", "x?", "no question mark"]', 5) == []
    assert parse_questions('```json\n["what is the rlq?", 3, "who owns mistral?"]\n```', 5) == [
        "what is the rlq?", "who owns mistral?"]
    assert parse_questions('{"questions": ["what is the rlq?"]}', 5) == ["what is the rlq?"]
    assert parse_questions("1. what is the rlq?\n2) who owns mistral?\n- Sure, here you go", 1) == [
        "what is the rlq?"]
    assert parse_questions("I cannot help with that.", 3) == []
    assert parse_questions("<html>502 Bad Gateway</html>", 3) == []


def test_a_copied_sentence_is_not_a_question_of_its_own() -> None:
    document = DOCUMENTS["glossary/rlq"]
    assert copies_document("RLQ means rate limit queue. Throttled carrier jobs wait there?", document)
    assert not copies_document("where do throttled carrier jobs wait?", document)
    assert copies_document("rate limit queue?", "the rate limit queue") is True


def test_filter_keeps_new_retrievable_questions_only() -> None:
    embedder = FakeEmbedder()
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    vectors = EmbeddingCache(None).corpus_vectors(embedder, corpus).vectors
    checks = QuestionFilter(embedder, corpus, vectors, top_k=1,
                            existing=["Where do throttled carrier jobs wait"])
    judge = checks.judge
    assert judge("where do throttled carrier jobs wait?", "glossary/rlq", DOCUMENTS["glossary/rlq"]) \
        == "duplicate"
    assert judge("when is an after action review due?", "glossary/aar", DOCUMENTS["glossary/aar"]) \
        is None
    assert judge("so when is an after-action review due?", "glossary/aar", DOCUMENTS["glossary/aar"]) \
        == "near-duplicate"
    assert judge("who reads the deploy freeze rules for slipway on fridays?", "glossary/aar",
                 DOCUMENTS["glossary/aar"]) == "source not in top 1"


def test_synthesize_keeps_the_good_questions_and_says_why_others_went(chat) -> None:
    server = chat(good_reply)
    report = synthesize(ChatClient(server.url, model="fake"), EvalCorpus.from_texts(DOCUMENTS),
                        FakeEmbedder(), per_document=3, top_k=1)
    kept = {(pair.anchor, pair.positive) for pair in report.kept}
    assert kept == {("where do throttled carrier jobs wait?", "glossary/rlq"),
                    ("what is the RLQ for partner API jobs?", "glossary/rlq"),
                    ("when is an after action review due for an incident?", "glossary/aar"),
                    ("can I deploy Mistral through slipway on a Friday afternoon?", "runbooks/deploy")}
    assert all(pair.source == "synthetic" for pair in report.kept)
    assert report.rejected == {"copied from the document": 1, "duplicate": 1,
                               "source not in top 1": 1}
    assert report.documents == 3 and report.proposed == 7 and not report.errors
    assert "Answer with a JSON list" in server.prompts[0]


def test_an_endpoint_that_times_out_or_answers_garbage_is_reported(chat) -> None:
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    slow = chat(lambda prompt: (200, chat_body('["where is the rlq?"]'), 1.0))
    client = ChatClient(slow.url, timeout_seconds=0.2, max_retries=0)
    report = synthesize(client, corpus, FakeEmbedder())
    assert not report.kept and len(report.errors) == 3
    assert "timed out after 0.2 s" in report.errors[0] and report.stopped.startswith("stopped after 3")

    replies = iter([(200, "<html>not json</html>", 0.0), (200, chat_body("Sorry, I can't."), 0.0),
                    (500, "oops", 0.0), (200, chat_body(json.dumps(GOOD_QUESTIONS["runbooks/deploy"])),
                                         0.0)])
    flaky = chat(lambda prompt: next(replies))
    report = synthesize(ChatClient(flaky.url, max_retries=1, backoff_seconds=0.01), corpus,
                        FakeEmbedder(), top_k=3)
    assert "not a chat completion" in report.errors[0] and "held no questions" in report.errors[1]
    assert not report.stopped and len(report.kept) == 1  # the 500 was retried and then answered

    with pytest.raises(SynthError, match="answered 401"):
        ChatClient(chat(lambda prompt: (401, "no key", 0.0)).url).complete("hi")
    with pytest.raises(SynthError, match="OPENAI_BASE_URL"):
        ChatClient(None)


def test_synthetic_questions_are_capped_to_a_share_of_the_training_set() -> None:
    real = list(range(80))
    synthetic = [TrainingPair("synthetic", f"q{i}", f"doc{i % 4}") for i in range(100)]
    kept = cap_synthetic_share(real, synthetic, max_share=0.2)
    assert len(kept) == 20 and len(kept) / (len(kept) + len(real)) <= 0.2
    assert {pair.positive for pair in kept[:4]} == {"doc0", "doc1", "doc2", "doc3"}
    assert cap_synthetic_share([], synthetic) == []
    assert len(cap_synthetic_share(real, synthetic[:5])) == 5


def test_argot_synth_stores_kept_questions_and_reports_the_cap(services: Services, chat,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    services.ingestor().ingest([Document(doc_id, text) for doc_id, text in DOCUMENTS.items()])
    server = chat(good_reply)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    args = build_parser().parse_args(["synth", "--base-url", server.url, "--top-k", "1",
                                      "--dry-run"])
    assert args.run(args, services) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 4 and not services.feedback.training_pairs()

    args = build_parser().parse_args(["synth", "--base-url", server.url, "--top-k", "1"])
    assert args.run(args, services) == 0
    assert "4 stored" in capsys.readouterr().err
    assert len(services.feedback.training_pairs("synthetic")) == 4
