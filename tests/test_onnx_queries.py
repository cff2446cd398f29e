"""Questions through ONNX Runtime: the same vectors as PyTorch, exported once per model,
and PyTorch whenever the export cannot be trusted."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bot.services import Services
from bot.settings import Settings, SettingsError
from engine.onnxqueries import OnnxQueryEncoder, export_queries, is_exported

QUESTIONS = ["what is the tollbooth?", "who owns Mistral when billing is down at night",
             "RLQ", "how do I flush the bilge"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("onnx-home")
    Services(Settings.from_mapping({"ARGOT_HOME": str(home)})).ready()
    return home


def services_at(home: Path, **env: str) -> Services:
    return Services(Settings.from_mapping({"ARGOT_HOME": str(home), **env}))


def test_questions_through_onnx_get_the_vectors_pytorch_gives(exported_home: Path, minilm) -> None:
    embedder = services_at(exported_home).embedder()

    one_by_one = np.stack([embedder.embed_query(q) for q in QUESTIONS])
    together = embedder.embed_batch(QUESTIONS, "query")

    assert isinstance(embedder._queries, OnnxQueryEncoder)
    assert is_exported(exported_home / "onnx" / embedder.model_id)
    expected = minilm.embed_batch(QUESTIONS, "query")
    assert np.abs(one_by_one - expected).max() < 1e-4
    assert np.abs(together - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_second_process_uses_the_export_without_exporting_again(
        exported_home: Path, minilm, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_export(*_: object) -> bool:
        raise AssertionError("exported again")

    monkeypatch.setattr("engine.onnxqueries.export_queries", no_export)
    embedder = services_at(exported_home).embedder()

    vector = embedder.embed_query(QUESTIONS[0])

    assert isinstance(embedder._queries, OnnxQueryEncoder)
    assert embedder._model is None, "the PyTorch model is not even loaded"
    assert np.abs(vector - minilm.embed_query(QUESTIONS[0])).max() < 1e-4


def test_a_damaged_export_falls_back_to_pytorch(tmp_path: Path, minilm, caplog) -> None:
    services = services_at(tmp_path)
    embedder = services.embedder()
    folder = tmp_path / "onnx" / embedder.model_id
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not a model")
    (folder / "encoder.json").write_text('{"pooling": "mean", "normalize": true, "max_length": 256}')

    with caplog.at_level(logging.WARNING):
        vector = embedder.embed_query(QUESTIONS[1])

    assert embedder._queries is False
    assert "questions stay with PyTorch" in caplog.text
    assert np.abs(vector - minilm.embed_query(QUESTIONS[1])).max() < 1e-5


def test_argot_query_encoder_torch_keeps_questions_in_pytorch(tmp_path: Path, minilm) -> None:
    embedder = services_at(tmp_path, ARGOT_QUERY_ENCODER="torch").embedder()

    vector = embedder.embed_query(QUESTIONS[2])

    assert embedder.query_folder is None and not (tmp_path / "onnx").exists()
    assert np.abs(vector - minilm.embed_query(QUESTIONS[2])).max() < 1e-5


def test_a_model_that_is_not_transformer_pooling_normalize_is_not_exported(tmp_path: Path, minilm) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense

    with_dense = SentenceTransformer(modules=[*minilm.model, Dense(384, 16)], device="cpu")

    assert export_queries(with_dense, tmp_path / "onnx") is False
    assert not (tmp_path / "onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == [], "no staging folder left behind"


@pytest.mark.parametrize("value", ["onnx", "torch", "ONNX"])
def test_the_query_encoder_setting_takes_onnx_or_torch(tmp_path: Path, value: str) -> None:
    assert Settings.from_mapping({"ARGOT_HOME": str(tmp_path), "ARGOT_QUERY_ENCODER": value}
                                 ).query_encoder == value.lower()


def test_an_unknown_query_encoder_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="ARGOT_QUERY_ENCODER='tensorrt' is not one of onnx, torch"):
        Settings.from_mapping({"ARGOT_HOME": str(tmp_path), "ARGOT_QUERY_ENCODER": "tensorrt"})
