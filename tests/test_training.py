"""Fine-tuning and blending with the bundled MiniLM (a few steps, short sequences)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.embedders import default_model_path
from engine.learning.mining import HardNegative, TrainingExample
from engine.learning.training import (
    TrainingConfig,
    TrainingError,
    base_state_dict,
    blend,
    fine_tune,
    in_memory_embedder,
    planned_epochs,
    save,
    training_rows,
)

# The team's meanings of ordinary words: the base model reads them literally.
JARGON = [
    ("what is the harbour?", "Harbour: the staging cluster where release builds wait.",
     "A harbour is a sheltered place on a coast where ships moor."),
    ("who is the bosun?", "Bosun: the engineer on deploy duty who approves releases.",
     "A boatswain is a ship's officer in charge of rigging and anchors."),
    ("what does it mean to moor a service?", "Mooring: pinning a service to a known good "
     "version so deploys skip it.", "To moor a boat is to tie it to a fixed object."),
    ("what is a barnacle?", "Barnacle: a legacy service nobody dares to remove.",
     "Barnacles are marine crustaceans that attach to rocks and hulls."),
    ("what is the dogwatch?", "Dogwatch: the evening on-call shift from 6pm to 10pm.",
     "A dog watch is a short period of duty on a ship in the evening."),
    ("what is the slipway?", "Slipway: the pipeline that builds release candidates.",
     "A slipway is a ramp on the shore by which ships are moved to the water."),
]
EXAMPLES = [TrainingExample(question, f"glossary/{n}", positive, 0.4,
                            (HardNegative(f"literal/{n}", negative, 0.6, "mined"),), "rating")
            for n, (question, positive, negative) in enumerate(JARGON)]
TINY = TrainingConfig(max_steps=4, batch_size=4, max_seq_length=48, learning_rate=1e-4,
                      num_negatives=2)


def similarity(embedder, question: str, text: str) -> float:
    return float(embedder.embed_query(question) @ embedder.embed_documents([text])[0])


def test_rows_for_mnrl_have_a_fixed_number_of_negative_columns():
    rows = training_rows(EXAMPLES, TINY)
    assert set(rows) == {"with_negatives"}
    columns = rows["with_negatives"]
    assert list(columns) == ["anchor", "positive", "negative_1", "negative_2"]
    assert len(columns["anchor"]) == 6
    assert columns["negative_1"][0] == columns["negative_2"][0]  # one negative, repeated


def test_examples_without_negatives_train_as_pairs_and_triplet_loss_needs_negatives():
    bare = [TrainingExample("q", "d", "text", 0.3, (), "faq")]
    assert set(training_rows(bare, TINY)) == {"pairs"}
    assert training_rows(bare, TrainingConfig(loss="triplet")) == {}
    triplets = training_rows(EXAMPLES, TrainingConfig(loss="triplet"))["triplets"]
    assert list(triplets) == ["anchor", "positive", "negative"] and len(triplets["anchor"]) == 6


def test_a_small_rating_set_gets_enough_steps_and_a_large_one_a_single_pass():
    config = TrainingConfig(batch_size=16, min_steps=60, max_epochs=10)

    assert planned_epochs(44, config) == 10.0   # 3 batches an epoch: capped at 10 epochs
    assert planned_epochs(320, config) == 3.0   # 20 batches an epoch: 60 steps
    assert planned_epochs(5000, config) == 1.0  # never less than one pass


@pytest.mark.slow
def test_training_stops_when_its_time_budget_is_spent(tmp_path: Path):
    config = TrainingConfig(batch_size=2, max_seq_length=32, min_steps=10_000, max_epochs=1000,
                            max_seconds=0.5, num_negatives=1)

    result = fine_tune(str(default_model_path()), EXAMPLES, config, work_dir=tmp_path)

    assert result.stopped_early
    assert 0 < result.steps < 100


def test_an_empty_dataset_says_what_to_provide(tmp_path: Path):
    with pytest.raises(TrainingError, match="The dataset is empty. Provide at least one rated"):
        fine_tune(default_model_path(), [], TINY, work_dir=tmp_path)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """MiniLM after four steps on the jargon examples (trained once for the module)."""
    return fine_tune(default_model_path(), EXAMPLES, TINY,
                     work_dir=tmp_path_factory.mktemp("work"))


@pytest.mark.slow
def test_fine_tuning_pulls_questions_towards_their_rated_answers(tmp_path: Path, minilm, tuned):
    def margins(embedder) -> np.ndarray:
        return np.array([similarity(embedder, q, p) - similarity(embedder, q, n)
                         for q, p, n in JARGON])

    assert tuned.steps == 4 and tuned.rows == 6 and tuned.loss is not None
    model = in_memory_embedder(tuned.model, "ft-test")
    assert margins(model).mean() > margins(minilm).mean() + 0.05
    assert tuned.model.max_seq_length == minilm.model.max_seq_length  # answers read whole chunks

    question = JARGON[0][0]
    folder = save(tuned.model, tmp_path / "ft0001")
    from engine.embedders import SentenceTransformerEmbedder

    reloaded = SentenceTransformerEmbedder(str(folder), model_id="ft0001")
    assert np.allclose(reloaded.embed_query(question), model.embed_query(question), atol=1e-5)


@pytest.mark.slow
def test_blending_moves_the_weights_between_the_base_and_the_tuned_model(tuned):
    base = base_state_dict(default_model_path())
    weights = {k: v.clone() for k, v in tuned.model.state_dict().items()}
    name = next(k for k, v in weights.items() if v.is_floating_point() and not (v == base[k]).all())

    assert blend(tuned.model, base, 1.0) is tuned.model
    at_base = blend(tuned.model, base, 0.0).state_dict()[name]
    halfway = blend(tuned.model, base, 0.5).state_dict()[name]
    assert np.allclose(at_base.numpy(), base[name].numpy(), atol=1e-6)
    assert np.allclose(halfway.numpy(), (0.5 * (weights[name] + base[name])).numpy(), atol=1e-6)
    assert (tuned.model.state_dict()[name] == weights[name]).all()  # the tuned model is untouched


@pytest.mark.slow
def test_triplet_loss_is_available_as_the_classic_recipe(tmp_path: Path):
    config = TrainingConfig(loss="triplet", max_steps=2, batch_size=4, max_seq_length=48)
    result = fine_tune(default_model_path(), EXAMPLES, config, work_dir=tmp_path)
    assert result.steps == 2 and result.rows == 6


@pytest.mark.slow
def test_frozen_layers_stay_as_the_base_has_them(tmp_path: Path):
    from dataclasses import replace

    base = base_state_dict(default_model_path())
    result = fine_tune(default_model_path(), EXAMPLES, replace(TINY, max_steps=2, frozen_layers=2),
                       work_dir=tmp_path)

    def unchanged(prefix: str) -> bool:
        weights = {k: v for k, v in result.model.state_dict().items() if prefix in k}
        assert weights, prefix
        return all((v == base[k]).all() for k, v in weights.items())

    assert unchanged("embeddings.word_embeddings") and unchanged("encoder.layer.0.")
    assert unchanged("encoder.layer.1.")
    assert not unchanged("encoder.layer.5.")


@pytest.mark.slow
def test_bf16_training_computes_in_bfloat16_and_keeps_float32_weights(tmp_path: Path):
    from dataclasses import replace

    import torch

    base = base_state_dict(default_model_path())
    result = fine_tune(default_model_path(), EXAMPLES, replace(TINY, max_steps=2, precision="bf16"),
                       work_dir=tmp_path)

    assert result.precision == "bf16"
    trained = result.model.state_dict()
    assert all(v.dtype == torch.float32 for v in trained.values() if v.is_floating_point())
    assert any(not torch.equal(v, base[k]) for k, v in trained.items() if "encoder.layer.5." in k)
    # Trained in bf16, it answers in float32, as the saved model will.
    from engine.embedders import SentenceTransformerEmbedder

    question = JARGON[0][0]
    saved = SentenceTransformerEmbedder(str(save(result.model, tmp_path / "ft0001")), model_id="ft0001")
    in_memory = in_memory_embedder(result.model, "ft-test")
    assert np.allclose(saved.embed_query(question), in_memory.embed_query(question), atol=1e-5)


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    import torch

    from engine.learning.training import computing_precision

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert computing_precision("auto") == "fp32"
    assert computing_precision("bf16") == "bf16"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert computing_precision("auto") == "bf16"
    assert computing_precision("fp32") == "fp32"


def test_freezing_leaves_a_layer_to_train_and_skips_a_model_it_cannot_read(caplog):
    from types import SimpleNamespace

    import torch

    from engine.learning.training import freeze

    encoder = torch.nn.Module()
    encoder.embeddings = torch.nn.Linear(2, 2)
    encoder.encoder = torch.nn.Module()
    encoder.encoder.layer = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])

    assert freeze([SimpleNamespace(auto_model=encoder)], 10) == 2
    assert not encoder.embeddings.weight.requires_grad and not encoder.encoder.layer[1].weight.requires_grad
    assert encoder.encoder.layer[2].weight.requires_grad
    assert freeze([SimpleNamespace()], 4) == 0 and "cannot freeze layers" in caplog.text
