"""Synthetic questions: an OpenAI-compatible chat model writes them, filters keep the good.

Off by default (only `argot synth` runs it). A generated question is kept only when it
is new (no exact or near duplicate of a kept, rated or imported question), not a copy
of the document's own sentences, and the current model already retrieves its source
document in the top k (a question the model cannot connect to its document is more
likely a bad question than a lesson). Kept questions are training pairs with source
"synthetic"; `cap_synthetic_share` limits them to a share of any training set, so the
model learns the team's questions rather than the chat model's style.

Tip:
    3 questions per document and a share of at most 20% is a safe start. Check a
    sample with `argot synth --dry-run` before storing anything.

Example:
    >>> client = ChatClient("http://127.0.0.1:8080/v1", model="llama3")
    >>> report = synthesize(client, corpus, embedder, per_document=3)
    >>> store.add_training_pairs(report.kept)
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from engine.embedders import TextEmbedder
from engine.errors import ArgotError
from engine.evaluation.corpus import EvalCorpus, ExactVectors
from engine.evaluation.querysets import normalise_question
from engine.evaluation.vectors import EmbeddingCache
from engine.feedback import TrainingPair
from engine.http import post_with_retries, transient

SYNTHETIC_MAX_SHARE = 0.2
NEAR_DUPLICATE = 0.92
"""Cosine similarity (current model) above which two questions say the same thing."""
COPY_NGRAM = 5
COPY_SHARE = 0.5
"""A question sharing half its 5-word sequences with the document is a copied sentence."""
MAX_PROMPT_CHARS = 3000
MAX_CONSECUTIVE_FAILURES = 3
PROMPT = """You help build a search engine for a team's internal documents.
Write {n} different questions that a colleague might ask in a chat, which this document answers.
Use your own words and the way people really ask; do not copy sentences from the document.
Answer with a JSON list of strings and nothing else.

Document "{title}":
{text}"""

T = TypeVar("T")


class SynthError(ArgotError):
    """The chat endpoint could not be reached, timed out or answered something unusable."""


class ChatClient:
    """An OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM, Ollama, LiteLLM...).

    The base URL and key default to `OPENAI_BASE_URL` and `OPENAI_API_KEY`.
    """

    def __init__(self, base_url: str | None = None, *, model: str = "gpt-4o-mini",
                 api_key: str | None = None, timeout_seconds: float = 30.0,
                 max_retries: int = 1, backoff_seconds: float = 0.5) -> None:
        import httpx

        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "").rstrip("/")
        if not self.base_url:
            raise SynthError("No chat endpoint: pass --base-url or set OPENAI_BASE_URL to an "
                             "OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1 for Ollama")
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_seconds,
                                  headers={"Authorization": f"Bearer {key}"} if key else {})

    def complete(self, prompt: str) -> str:
        """The assistant's reply text; raises SynthError after the retries are spent."""
        import httpx

        body = {"model": self.model, "temperature": 0.7,
                "messages": [{"role": "user", "content": prompt}]}
        try:
            response = post_with_retries(self._http, "/chat/completions", body,
                                         max_retries=self.max_retries,
                                         backoff_seconds=self.backoff_seconds)
        except httpx.TimeoutException:
            raise SynthError(f"Chat endpoint {self.base_url} timed out after "
                             f"{self.timeout_seconds:g} s") from None
        except httpx.TransportError as exc:
            raise SynthError(f"Chat endpoint {self.base_url} unreachable ({exc})") from None
        if transient(response):
            raise SynthError(f"Chat endpoint {self.base_url} answered {response.status_code}")
        if response.status_code != 200:
            raise SynthError(f"Chat endpoint {self.base_url} answered "
                             f"{response.status_code}: {response.text[:200]}")
        return chat_text(response)

    def close(self) -> None:
        self._http.close()


def chat_text(response: Any) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str):
        raise SynthError(f"The chat endpoint answered something that is not a chat completion: "
                         f"{response.text[:200]!r}")
    return content


def parse_questions(reply: str, limit: int) -> list[str]:
    """Questions from a reply: a JSON list (or {"questions": [...]}), else one per line."""
    text = re.sub(r"^```[a-z]*\s*|\s*```$", "", reply.strip())
    items: list[Any]
    try:
        parsed = json.loads(text)
        items = parsed.get("questions", []) if isinstance(parsed, dict) else parsed
        if not isinstance(items, list):
            items = []
    except json.JSONDecodeError:
        items = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line) for line in text.splitlines()]
    questions = []
    for item in items:
        if not isinstance(item, str):
            continue
        question = " ".join(item.split()).strip("\"'")
        if 3 <= len(question.split()) <= 40 and question.endswith("?"):
            questions.append(question)
    return questions[:limit]


def copies_document(question: str, document: str, n: int = COPY_NGRAM,
                    share: float = COPY_SHARE) -> bool:
    """True when the question is mostly the document's own word sequences."""
    q_words = re.findall(r"\w+", question.lower())
    d_words = re.findall(r"\w+", document.lower())
    if len(q_words) < n:
        joined = " ".join(q_words)
        return bool(joined) and f" {joined} " in f" {' '.join(d_words)} " and len(q_words) >= 3
    q_grams = {tuple(q_words[i:i + n]) for i in range(len(q_words) - n + 1)}
    d_grams = {tuple(d_words[i:i + n]) for i in range(len(d_words) - n + 1)}
    return len(q_grams & d_grams) / len(q_grams) >= share


@dataclass
class SynthReport:
    documents: int = 0
    proposed: int = 0
    kept: list[TrainingPair] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    stopped: str = ""

    def summary(self) -> str:
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.rejected.most_common())
        return (f"{self.documents} documents, {self.proposed} questions proposed, "
                f"{len(self.kept)} kept" + (f"; rejected: {reasons}" if reasons else "")
                + (f"; {len(self.errors)} errors" if self.errors else ""))


class QuestionFilter:
    """The three checks, with the current model: new, not copied, retrievable."""

    def __init__(self, embedder: TextEmbedder, corpus: EvalCorpus, vectors: np.ndarray,
                 top_k: int = 5, existing: Iterable[str] = ()) -> None:
        self.embedder = embedder
        self.ranker = ExactVectors(corpus, vectors)
        self.top_k = top_k
        existing = [q for q in existing if q.strip()]
        self.seen = {normalise_question(q) for q in existing}
        dim = vectors.shape[1] if vectors.ndim == 2 else embedder.dimension
        self.kept_vectors = (embedder.embed_batch(existing, "query") if existing
                             else np.zeros((0, dim), dtype=np.float32))

    def judge(self, question: str, doc_id: str, document: str) -> str | None:
        """None to keep the question, else the reason it is rejected."""
        key = normalise_question(question)
        if key in self.seen:
            return "duplicate"
        if copies_document(question, document):
            return "copied from the document"
        vector = self.embedder.embed_query(question)
        if len(self.kept_vectors) and float(np.max(self.kept_vectors @ vector)) >= NEAR_DUPLICATE:
            return "near-duplicate"
        if doc_id not in self.ranker.rank_vectors(vector[None, :], self.top_k)[0]:
            return f"source not in top {self.top_k}"
        self.seen.add(key)
        self.kept_vectors = np.vstack([self.kept_vectors, vector[None, :]])
        return None


def document_texts(corpus: EvalCorpus) -> dict[str, tuple[str, str]]:
    """doc_id → (title, text as written), from the corpus's chunks."""
    found: dict[str, tuple[str, list[str]]] = {}
    for chunk in corpus.chunks:
        found.setdefault(chunk.doc_id, (chunk.title, []))[1].append(chunk.text)
    return {doc_id: (title, "\n\n".join(parts)) for doc_id, (title, parts) in found.items()}


def synthesize(client: ChatClient, corpus: EvalCorpus, embedder: TextEmbedder, *,
               doc_ids: Sequence[str] | None = None, per_document: int = 3, top_k: int = 5,
               existing: Iterable[str] = (), cache: EmbeddingCache | None = None,
               progress: Callable[[str], None] | None = None) -> SynthReport:
    """Ask for questions per document and keep the good ones (see the module docstring).

    Stops early, with `report.stopped` saying why, after MAX_CONSECUTIVE_FAILURES
    documents in a row got no usable answer (an endpoint that is down or broken).
    """
    say = progress or (lambda _: None)
    vectors = (cache or EmbeddingCache(None)).corpus_vectors(embedder, corpus).vectors
    checks = QuestionFilter(embedder, corpus, vectors, top_k, existing)
    texts = document_texts(corpus)
    wanted = list(doc_ids) if doc_ids is not None else list(corpus.doc_ids)
    report = SynthReport()
    failures = 0
    for number, doc_id in enumerate(wanted, start=1):
        if doc_id not in texts:
            report.errors.append(f"{doc_id}: not in the index")
            continue
        title, text = texts[doc_id]
        report.documents += 1
        try:
            reply = client.complete(PROMPT.format(n=per_document, title=title or doc_id,
                                                  text=text[:MAX_PROMPT_CHARS]))
            questions = parse_questions(reply, per_document)
            if not questions:
                raise SynthError(f"the answer held no questions: {reply[:120]!r}")
        except SynthError as exc:
            report.errors.append(f"{doc_id}: {exc}")
            failures += 1
            if failures >= MAX_CONSECUTIVE_FAILURES:
                report.stopped = (f"stopped after {failures} documents in a row without a usable "
                                  f"answer; last: {exc}")
                break
            continue
        failures = 0
        report.proposed += len(questions)
        for question in questions:
            reason = checks.judge(question, doc_id, f"{title}\n{text}")
            if reason:
                report.rejected[reason] += 1
            else:
                report.kept.append(TrainingPair("synthetic", question, doc_id))
        say(f"{number}/{len(wanted)} documents, {len(report.kept)} questions kept")
    return report


def cap_synthetic_share(real: Sequence[Any], synthetic: Sequence[T],
                        max_share: float = SYNTHETIC_MAX_SHARE) -> list[T]:
    """The synthetic items that fit so that they are at most `max_share` of the whole.

    Items are taken round-robin over their `positive` document (when they have one),
    so the cap keeps questions about many documents rather than all about the first.
    """
    if not 0 <= max_share < 1:
        raise ValueError("max_share is a fraction in [0, 1)")
    allowed = int(max_share * len(real) / (1 - max_share) + 1e-9)
    groups: dict[Any, list[T]] = {}
    for item in synthetic:
        groups.setdefault(getattr(item, "positive", None), []).append(item)
    ordered: list[T] = []
    queues = list(groups.values())
    while queues and len(ordered) < allowed:
        for queue in queues:
            if queue and len(ordered) < allowed:
                ordered.append(queue.pop(0))
        queues = [q for q in queues if q]
    return ordered
