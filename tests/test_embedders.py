"""Embedders: the bundled MiniLM for real, and the OpenAI-compatible endpoint against a
local fake server that can rate-limit and fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from engine.embedders import OpenAIEmbedder, SentenceTransformerEmbedder
from engine.errors import EmbedderError


class FakeOpenAI(BaseHTTPRequestHandler):
    """POST /v1/embeddings; answers the scripted statuses first, then real vectors."""

    script: list[int] = []
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"auth": self.headers.get("Authorization"), **body})
        status = type(self).script.pop(0) if type(self).script else 200
        if status == 200:
            data = [{"index": i, "embedding": [float(len(t)), 1.0, 0.0]}
                    for i, t in enumerate(body["input"])]
            payload = json.dumps({"data": list(reversed(data)), "model": body["model"]}).encode()
        elif status == 299:  # garbage
            status, payload = 200, b"<html>not json</html>"
        else:
            payload = b'{"error": "busy"}'
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    FakeOpenAI.script, FakeOpenAI.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_embeddings_are_ordered_normalised_and_batched(endpoint: str) -> None:
    embedder = OpenAIEmbedder("text-embedding-3-small", api_key="sk-test", base_url=endpoint,
                              batch_size=2, backoff_seconds=0)
    vectors = embedder.embed_documents(["a", "bbb", "cc"])
    assert vectors.shape == (3, 3)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[1, 0] > vectors[2, 0] > vectors[0, 0]  # input order kept
    assert [len(r["input"]) for r in FakeOpenAI.requests] == [2, 1]
    assert FakeOpenAI.requests[0]["auth"] == "Bearer sk-test"


def test_rate_limits_and_server_errors_are_retried(endpoint: str) -> None:
    FakeOpenAI.script = [429, 503]
    embedder = OpenAIEmbedder(api_key="k", base_url=endpoint, backoff_seconds=0)
    assert embedder.embed_query("hello").shape == (3,)
    assert len(FakeOpenAI.requests) == 3


@pytest.mark.parametrize("script, message", [([500] * 6, "kept answering 500"),
                                             ([400], "answered 400"),
                                             ([299], "not an embeddings response")])
def test_endpoint_failures_become_one_clear_error(endpoint: str, script: list[int], message: str) -> None:
    FakeOpenAI.script = script
    embedder = OpenAIEmbedder(api_key="k", base_url=endpoint, backoff_seconds=0, max_retries=5)
    with pytest.raises(EmbedderError, match=message):
        embedder.embed_query("hello")


def test_openai_model_id_is_stable_and_names_the_model(endpoint: str) -> None:
    one = OpenAIEmbedder("text-embedding-3-small", base_url=endpoint)
    two = OpenAIEmbedder("text-embedding-3-small", base_url=endpoint)
    assert one.model_id == two.model_id and "text-embedding-3-small" in one.model_id


def test_model_families_get_their_query_prompts() -> None:
    assert SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5").query_prompt.startswith("Represent")
    e5 = SentenceTransformerEmbedder("intfloat/e5-small-v2")
    assert (e5.query_prompt, e5.document_prompt) == ("query: ", "passage: ")
    assert SentenceTransformerEmbedder("BAAI/bge-small-en-v1.5").model_id != \
        SentenceTransformerEmbedder("intfloat/e5-small-v2").model_id


def test_an_unloadable_model_names_itself() -> None:
    with pytest.raises(EmbedderError, match="no-such/model"):
        SentenceTransformerEmbedder("no-such/model").embed_query("x")


@pytest.mark.slow
def test_bundled_minilm_puts_a_question_near_its_answer(minilm: SentenceTransformerEmbedder) -> None:
    docs = minilm.embed_documents(["Phoenix is the service that sends invoices to customers.",
                                   "The cafeteria serves lunch at noon."])
    query = minilm.embed_query("which system does billing?")
    assert docs.shape == (2, 384) and minilm.dimension == 384
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert float(docs[0] @ query) > float(docs[1] @ query)
    assert minilm.model_id.startswith("all-minilm-l6-v2-")
