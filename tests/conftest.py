"""Fixtures: a temporary ARGOT_HOME, a fake embedder, the real bundled MiniLM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO_KB = REPO / "bot" / "demo" / "kb"
DEMO_QUESTIONS = REPO / "bot" / "demo" / "questions.jsonl"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ARGOT_HOME; no .env or Slack/Chroma settings leak in from the machine."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
                 "ARGOT_MODEL", "CHROMA_HOST", "CHROMA_PORT", "DATABASE_URL",
                 "ARGOT_TRAIN_SCHEDULE", "ARGOT_OPS_CHANNEL", "ARGOT_RETRIEVAL",
                 "ARGOT_CLIP_MODEL", "ARGOT_CLIP_PRETRAINED"):
        monkeypatch.delenv(name, raising=False)
    argot_home = tmp_path / "argot-home"
    monkeypatch.setenv("ARGOT_HOME", str(argot_home))
    monkeypatch.chdir(tmp_path)
    return argot_home


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.load()


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def services(settings: Settings, fake_embedder: FakeEmbedder) -> Services:
    """Real Chroma, real SQLite, fake embedder: the fast way to exercise the engine."""
    return Services(settings, base_embedder=fake_embedder)


@pytest.fixture(scope="session")
def minilm():
    """The bundled all-MiniLM-L6-v2, loaded once for the whole session."""
    from engine.embedders import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.model  # noqa: B018 - load now, not inside the first test's timing
    return embedder


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory):
    """A tiny open_clip model trained on synthetic shapes and diagrams, once per session
    (tests/clip_fixture.py): this machine has no CLIP weights to download.
    ARGOT_TINY_CLIP_CACHE=DIR keeps it between sessions while you work on the tests."""
    from tests.clip_fixture import build, build_once

    cache = os.environ.get("ARGOT_TINY_CLIP_CACHE")
    return build_once(Path(cache)) if cache else build(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture
def clip_settings(home: Path, monkeypatch: pytest.MonkeyPatch, tiny_clip) -> Settings:
    """Settings with ARGOT_CLIP_MODEL / ARGOT_CLIP_PRETRAINED pointing at the tiny model."""
    monkeypatch.setenv("ARGOT_CLIP_MODEL", str(tiny_clip.config))
    monkeypatch.setenv("ARGOT_CLIP_PRETRAINED", str(tiny_clip.checkpoint))
    return Settings.load()


@pytest.fixture
def clip_services(clip_settings: Settings, fake_embedder: FakeEmbedder) -> Services:
    """Real Chroma and SQLite, the fake text embedder, the tiny CLIP model."""
    return Services(clip_settings, base_embedder=fake_embedder)
