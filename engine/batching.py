"""Micro-batching: questions that arrive together are embedded in one forward pass.

Under load the bot's listener threads each want one query embedding at about the same
time. Embedding them one by one makes them queue behind each other; a forward pass over
sixteen short questions costs little more than over one. `MicroBatcher` joins concurrent
calls: a caller hands in its item and blocks; one worker thread takes whatever is
waiting (at most `max_batch`), runs the batch function once, and hands each caller its
own row. So load raises the batch size instead of the queue length.

A question that arrives while the batcher is idle goes at once (no window: a lone
question pays nothing). While it is busy, the worker waits up to `window_s` after the
oldest waiting item for more to join. Only the batch function runs on the worker: the
database and Chroma work of each question stay on its own thread.

A failing batch is retried item by item, so one bad member (an input the model
rejects) fails only its own caller.

Example:
    >>> embedder = BatchingEmbedder(SentenceTransformerEmbedder())
    >>> embedder.embed_query("what is RLQ?")    # joins whatever else is asked right now
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from engine.embedders import Kind, TextEmbedder

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

WINDOW_S = 0.003
"""How long a busy batcher waits after the oldest waiting item for others to join."""
MAX_BATCH = 16
"""Items per batch at most (short questions: a batch of 16 costs about 2 of 1 on 2 cores)."""
BUSY_S = 0.05
"""The batcher counts as busy for this long after a batch finished."""


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    arrived: float = field(default_factory=time.monotonic)
    result: Future[R] = field(default_factory=Future)


class MicroBatcher(Generic[T, R]):
    """Runs `run(items) -> results` (one result per item, same order) over concurrent calls.

    Args:
        run: the batch function; it must return exactly one result per item.
        window_s: how long a busy batcher waits for more items (see the module docstring).
        max_batch: items per call of `run` at most.
        name: the worker thread's name.
    """

    def __init__(self, run: Callable[[list[T]], Sequence[R]], *, window_s: float = WINDOW_S,
                 max_batch: int = MAX_BATCH, name: str = "argot-batcher") -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self.name = name
        self.batch_sizes: list[int] = []
        """The size of every batch run so far (the benchmarks report it)."""
        self._pending: list[_Waiting[T, R]] = []
        self._changed = threading.Condition()
        self._worker: threading.Thread | None = None
        self._last_finished = float("-inf")

    @property
    def waiting(self) -> int:
        """Items handed in and not yet taken into a batch."""
        with self._changed:
            return len(self._pending)

    def submit(self, item: T) -> R:
        """The result for `item`, computed in a batch with whatever else is waiting; raises
        what `run` raised for this item alone."""
        waiting: _Waiting[T, R] = _Waiting(item)
        with self._changed:
            self._pending.append(waiting)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name=self.name, daemon=True)
                self._worker.start()
            self._changed.notify_all()
        return waiting.result.result()

    def _work(self) -> None:
        while True:
            self._run_batch(self._next_batch())

    def _next_batch(self) -> list[_Waiting[T, R]]:
        with self._changed:
            while not self._pending:
                self._changed.wait()
            if time.monotonic() - self._last_finished < BUSY_S:
                deadline = self._pending[0].arrived + self.window_s
                while len(self._pending) < self.max_batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            return batch

    def _run_batch(self, batch: list[_Waiting[T, R]]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = self._checked([w.item for w in batch])
            for waiting, result in zip(batch, results, strict=True):
                waiting.result.set_result(result)
        except Exception as exc:  # noqa: BLE001 - each member gets its own outcome below
            if len(batch) == 1:
                batch[0].result.set_exception(exc)
            else:
                log.info("a batch of %d failed (%s); running its members one by one",
                         len(batch), exc)
                for waiting in batch:
                    self._run_alone(waiting)
        finally:
            self._last_finished = time.monotonic()

    def _run_alone(self, waiting: _Waiting[T, R]) -> None:
        try:
            waiting.result.set_result(self._checked([waiting.item])[0])
        except Exception as exc:  # noqa: BLE001 - handed to the one caller it belongs to
            waiting.result.set_exception(exc)

    def _checked(self, items: list[T]) -> Sequence[R]:
        results = self.run(items)
        if len(results) != len(items):
            raise RuntimeError(f"the batch function returned {len(results)} results for "
                               f"{len(items)} items")
        return results


class BatchingEmbedder(TextEmbedder):
    """`inner`, with `embed_query` micro-batched across threads (`MicroBatcher`).

    Same `model_id` and vectors as `inner` (a batch of questions is padded to its longest,
    which the model's attention mask ignores: vectors agree to float rounding);
    `embed_batch` (documents, evaluation) goes straight to `inner`.
    """

    def __init__(self, inner: TextEmbedder, *, window_s: float = WINDOW_S,
                 max_batch: int = MAX_BATCH) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(
            self._embed_queries, window_s=window_s, max_batch=max_batch,
            name=f"argot-embed-{inner.model_id}")

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return self.inner.embed_batch(texts, kind)

    def embed_query(self, text: str) -> np.ndarray:
        return self.batcher.submit(text)

    def _embed_queries(self, texts: list[str]) -> list[np.ndarray]:
        return list(self.inner.embed_batch(texts, "query"))


def batching(embedder: TextEmbedder) -> TextEmbedder:
    """`embedder` with its queries micro-batched (an embedder that batches already as is)."""
    return embedder if isinstance(embedder, BatchingEmbedder) else BatchingEmbedder(embedder)
