"""Micro-batching: questions that arrive together are embedded in one forward pass.

Under load the bot's listener threads each want one query embedding at about the same
time. Embedding them one by one makes them queue behind each other; a forward pass over
sixteen short questions costs little more than over one. `MicroBatcher` joins concurrent
calls: a caller hands in its item and blocks; one of them takes whatever is waiting
(at most `max_batch`), runs the batch function once, and hands each caller its
own row. So load raises the batch size instead of the queue length.
The batch runs on one of the callers' own threads (see `MicroBatcher`).

A question that arrives while the batcher is idle goes at once (no window: a lone
question pays nothing). While it is busy, the leading caller waits up to `window_s`
after the oldest waiting item for more to join. Only the batch function runs in the
batch: the database and Chroma work of each question stay outside it, on the
question's own thread.

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
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class MicroBatcher(Generic[T, R]):
    """Runs `run(items) -> results` (one result per item, same order) over concurrent calls.

    No thread of its own: one of the waiting callers leads, runs a batch of whatever is
    waiting (its own item included) and hands out the results; the next caller still
    waiting takes over. A lone caller leads at once and runs its own item on its own
    thread, so an idle batcher adds no thread switch (on a loaded 2-core machine each
    switch can cost more than the embedding itself).

    Args:
        run: the batch function; it must return exactly one result per item.
        window_s: how long a busy batcher waits for more items (see the module docstring).
        max_batch: items per call of `run` at most.
    """

    def __init__(self, run: Callable[[list[T]], Sequence[R]], *, window_s: float = WINDOW_S,
                 max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self.batch_sizes: list[int] = []
        """The size of every batch run so far (the benchmarks report it)."""
        self._pending: list[_Waiting[T, R]] = []
        self._changed = threading.Condition()
        self._leading = False
        self._last_finished = float("-inf")

    @property
    def waiting(self) -> int:
        """Items handed in and not yet taken into a batch."""
        with self._changed:
            return len(self._pending)

    def submit(self, item: T) -> R:
        """The result for `item`, computed in a batch with whatever else is waiting; raises
        what `run` raised for this item alone."""
        mine: _Waiting[T, R] = _Waiting(item)
        with self._changed:
            self._pending.append(mine)
            self._changed.notify_all()
            while not mine.done and self._leading:
                self._changed.wait()
            if not mine.done:
                self._leading = True
        if not mine.done:
            try:
                while not mine.done:
                    self._run_batch(self._next_batch())
            finally:
                with self._changed:
                    self._leading = False
                    self._changed.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[return-value]

    def _next_batch(self) -> list[_Waiting[T, R]]:
        with self._changed:
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
                waiting.result = result
        except Exception as exc:  # noqa: BLE001 - each member gets its own outcome below
            if len(batch) == 1:
                batch[0].error = exc
            else:
                log.info("a batch of %d failed (%s); running its members one by one",
                         len(batch), exc)
                for waiting in batch:
                    self._run_alone(waiting)
        finally:
            with self._changed:
                for waiting in batch:
                    waiting.done = True
                self._last_finished = time.monotonic()
                self._changed.notify_all()

    def _run_alone(self, waiting: _Waiting[T, R]) -> None:
        try:
            waiting.result = self._checked([waiting.item])[0]
        except Exception as exc:  # noqa: BLE001 - handed to the one caller it belongs to
            waiting.error = exc

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
            self._embed_queries, window_s=window_s, max_batch=max_batch)

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
