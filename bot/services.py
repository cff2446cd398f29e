"""The one place that picks concrete engine classes and builds them, once.

Everything is built lazily: `argot --help` or a Slack handler test never loads torch.
The retriever follows the registry: when a learning cycle promotes a new version,
the next question is answered with it, without a restart.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from engine.registry import BASE, ModelRegistry, ModelVersion

if TYPE_CHECKING:
    from engine.embedders import TextEmbedder
    from engine.feedback import FeedbackStore
    from engine.images.search import ImageSearch
    from engine.index import ChunkIndex
    from engine.knowledge.ingest import Ingestor
    from engine.learning.config import LearningConfig
    from engine.learning.cycle import Workbench
    from engine.search.retrieval import Retriever

log = logging.getLogger(__name__)


class Services:
    def __init__(self, settings: Settings, base_embedder: TextEmbedder | None = None) -> None:
        """`base_embedder` replaces the configured ARGOT_MODEL (tests pass a fake)."""
        self.settings = settings
        self._lock = threading.RLock()
        self._embedders: dict[str, TextEmbedder] = {BASE: base_embedder} if base_embedder else {}
        self._retrievers: dict[str, Retriever] = {}

    @cached_property
    def chroma(self) -> Any:
        from engine.index import make_client

        return make_client(self.settings.home, self.settings.chroma_host,
                           self.settings.chroma_port)

    @cached_property
    def registry(self) -> ModelRegistry:
        """The registry under ARGOT_HOME/models; the database says which version is
        active, so every process of a deployment agrees (engine/activemodel.py)."""
        from engine.activemodel import ActiveModel

        return ModelRegistry(self.settings.home / "models", pointer=ActiveModel(self.feedback))

    @cached_property
    def feedback(self) -> FeedbackStore:
        from engine.feedback import FeedbackStore

        self.settings.home.mkdir(parents=True, exist_ok=True)
        return FeedbackStore(self.settings.db_url)

    @cached_property
    def images(self) -> ImageSearch:
        """Image search over the configured CLIP model; the model loads on first use
        (`images.start()` loads it at start-up and logs whether image search is on)."""
        from engine.images.clip import ClipEmbedder
        from engine.images.search import ImageSearch

        clip = (ClipEmbedder(self.settings.clip_model, self.settings.clip_pretrained)
                if self.settings.images_enabled else None)
        return ImageSearch(self.chroma, clip)

    def active_version(self) -> ModelVersion:
        return self.registry.active()

    def embedder(self, version: ModelVersion | None = None) -> TextEmbedder:
        """The text embedder of a model version (the active one by default), loaded once.

        A fine-tuned version's embedder has the version's registry name as `model_id`, so
        its collection is keyed by that name (engine/learning/promotion.py relies on it);
        the base model's `model_id` is derived from ARGOT_MODEL and its prompts."""
        from engine.embedders import build_text_embedder

        version = version or self.active_version()
        with self._lock:
            if version.name not in self._embedders:
                if version.name == BASE:
                    embedder = build_text_embedder(self.settings.model, show_progress=True)
                else:
                    embedder = build_text_embedder(version.path, model_id=version.name,
                                                   show_progress=True)
                self._onnx_questions(embedder, version)
                self._embedders[version.name] = embedder
            return self._embedders[version.name]

    def _onnx_questions(self, embedder: TextEmbedder, version: ModelVersion) -> None:
        """Questions through ONNX Runtime (ARGOT_QUERY_ENCODER=onnx): exported into the
        version's folder (pruned with it), the base model's under ARGOT_HOME/onnx."""
        from engine.embedders import SentenceTransformerEmbedder

        if self.settings.query_encoder != "onnx" or not isinstance(embedder, SentenceTransformerEmbedder):
            return
        embedder.query_folder = (self.settings.home / "onnx" / embedder.model_id if version.name == BASE
                                 else Path(version.path) / "onnx")

    def index(self, version: ModelVersion | None = None) -> ChunkIndex:
        """The collection of a model version (the active one by default)."""
        from engine.index import ChunkIndex

        return ChunkIndex(self.chroma, self.embedder(version).model_id)

    def retriever(self, version: ModelVersion | None = None) -> Retriever:
        """The retriever for `version`, or for whichever version is active now. A caller
        that records which version answered passes the one it read, so the two agree
        even if a learning cycle switches versions in between."""
        from engine.search.profile import answering_retriever

        version = version or self.active_version()
        with self._lock:
            if version.name not in self._retrievers:
                # The version's learnt vocabulary, memory and fusion weights (learned.json
                # in its folder) answer with its model; the base has none.
                self._retrievers[version.name] = answering_retriever(
                    self.index(version), self.embedder(version), self.settings.retrieval,
                    Path(version.path) if version.path else None, self.registry.root)
            return self._retrievers[version.name]

    def ready(self) -> Retriever:
        """The active version's retriever with its model loaded (and its questions' ONNX
        export made, the first time): the first question waits for neither."""
        retriever = self.retriever()
        retriever.embedder.embed_query("warm up")  # type: ignore[union-attr]
        return retriever

    def ingestor(self) -> Ingestor:
        from engine.knowledge.ingest import Ingestor

        return Ingestor(self.index(), self.embedder())

    def learning_config(self) -> LearningConfig:
        """The learning cycle's configuration, from the settings (unset: the engine's defaults)."""
        from engine.learning.config import LearningConfig
        from engine.learning.training import TrainingConfig

        s = self.settings
        training = given(TrainingConfig(), loss=s.train_loss, epochs=s.train_epochs,
                         min_steps=s.train_min_steps, max_seconds=s.train_seconds,
                         batch_size=s.train_batch_size, learning_rate=s.train_lr,
                         max_seq_length=s.train_max_seq_length, max_steps=s.train_max_steps,
                         num_negatives=s.train_negatives, frozen_layers=s.train_frozen_layers,
                         precision=s.train_precision)
        return given(LearningConfig(training=training), min_new_ratings=s.min_new_ratings,
                     min_held_out=s.min_held_out, gate_margin=s.gate_margin,
                     gold_queries=s.gold_queries, alphas=s.cocktail_alphas)

    def workbench(self) -> Workbench:
        """What a learning cycle works with: this process's store, registry, index and models."""
        from engine.embedders import default_model_path
        from engine.learning.cycle import Workbench

        return Workbench(feedback=self.feedback, registry=self.registry, client=self.chroma,
                         embedder_for=self.embedder,
                         base_model=self.settings.model or default_model_path(),
                         home=self.settings.home)


def given(config: Any, **values: Any) -> Any:
    """`config` with the values that are set (not None) replaced."""
    return replace(config, **{name: value for name, value in values.items() if value is not None})
