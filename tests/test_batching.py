"""Micro-batched query embeddings: questions asked together share one forward pass, each
caller gets its own vector, and one bad question fails only itself."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engine.batching import BatchingEmbedder, MicroBatcher
from engine.embedders import Kind
from tests.fakes import FakeEmbedder
from tests.servers import wait_until

QUESTIONS = ["what is RLQ?", "who owns Nightjar", "how do I page the on-call",
             "where is the GTQ runbook", "what does Phoenix do", "expense policy for travel",
             "how to rotate the staging keys", "what is a blue deploy"]


class GatedEmbedder(FakeEmbedder):
    """The fake embedder, whose first batch waits until the test opens the gate, so the
    questions asked meanwhile pile up for the next batch."""

    def __init__(self) -> None:
        super().__init__()
        self.first_started = threading.Event()
        self.gate = threading.Event()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not self.first_started.is_set():
            self.first_started.set()
            self.gate.wait(30)
        if any("poison" in text for text in texts):
            raise ValueError("this model cannot read poison")
        return super().embed_batch(texts, kind)


def ask_together(embedder: BatchingEmbedder, questions: list[str]) -> list[object]:
    """Ask the first question, then the others while the first is being embedded; each
    caller's vector or exception, in order."""
    inner = embedder.inner
    assert isinstance(inner, GatedEmbedder)

    def ask(text: str) -> object:
        try:
            return embedder.embed_query(text)
        except Exception as exc:  # noqa: BLE001 - the test looks at what each caller got
            return exc

    with ThreadPoolExecutor(len(questions)) as pool:
        first = pool.submit(ask, questions[0])
        inner.first_started.wait(30)
        rest = [pool.submit(ask, text) for text in questions[1:]]
        wait_until(lambda: embedder.batcher.waiting == len(questions) - 1, "the questions to queue",
                   timeout=30, interval=0.005)
        inner.gate.set()
        return [first.result(30), *(future.result(30) for future in rest)]


def test_questions_asked_together_each_get_their_own_vector_from_one_batch() -> None:
    embedder = BatchingEmbedder(GatedEmbedder())
    vectors = ask_together(embedder, QUESTIONS)
    alone = FakeEmbedder()
    for text, vector in zip(QUESTIONS, vectors, strict=True):
        assert isinstance(vector, np.ndarray)
        np.testing.assert_array_equal(vector, alone.embed_query(text))
    assert embedder.batcher.batch_sizes == [1, len(QUESTIONS) - 1]
    assert embedder.model_id == alone.model_id


def test_a_question_the_model_rejects_fails_alone() -> None:
    questions = [*QUESTIONS[:3], "poison pill", *QUESTIONS[3:5]]
    embedder = BatchingEmbedder(GatedEmbedder())
    got = ask_together(embedder, questions)
    assert isinstance(got[3], ValueError)
    alone = FakeEmbedder()
    for text, vector in zip(questions, got, strict=True):
        if text != "poison pill":
            np.testing.assert_array_equal(vector, alone.embed_query(text))
    assert embedder.embed_query("asked after the failure").shape == (alone.dimension,)


def test_a_batch_is_never_larger_than_max_batch() -> None:
    seen: list[int] = []
    gate, started = threading.Event(), threading.Event()

    def run(items: list[int]) -> list[int]:
        seen.append(len(items))
        if not started.is_set():
            started.set()
            gate.wait(30)
        return [item * 2 for item in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(run, max_batch=4)
    with ThreadPoolExecutor(10) as pool:
        first = pool.submit(batcher.submit, 0)
        started.wait(30)
        rest = [pool.submit(batcher.submit, n) for n in range(1, 10)]
        wait_until(lambda: batcher.waiting == 9, "nine items to queue", timeout=30, interval=0.005)
        gate.set()
        assert [first.result(30), *(f.result(30) for f in rest)] == [n * 2 for n in range(10)]
    assert seen[0] == 1 and max(seen) == 4 and sum(seen) == 10


def test_a_batch_function_that_loses_a_result_is_an_error_for_its_callers() -> None:
    batcher: MicroBatcher[str, str] = MicroBatcher(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        batcher.submit("x")


@pytest.mark.slow
def test_minilm_vectors_batched_equal_the_unbatched_ones(minilm) -> None:  # noqa: ANN001
    embedder = BatchingEmbedder(minilm)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        batched = list(pool.map(embedder.embed_query, QUESTIONS))
    for text, vector in zip(QUESTIONS, batched, strict=True):
        np.testing.assert_allclose(vector, minilm.embed_query(text), atol=1e-5)
