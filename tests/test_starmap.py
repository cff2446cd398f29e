"""The star map: a picture of the embedding space a person can read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import build_parser
from bot.services import Services
from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.querysets import QuerySet
from engine.feedback import AskedQuestion, Vote
from engine.learning.starmap import (
    StarMapPoints,
    align_to,
    draw_before_after,
    draw_star_map,
    project,
    star_points,
    topic_of,
)
from engine.types import Document
from tests.fakes import FakeEmbedder


def clustered(rows: int = 30, seed: int = 0) -> StarMapPoints:
    rng = np.random.default_rng(seed)
    labels = [("glossary", "runbooks", "teams")[i % 3] for i in range(rows)]
    centres = {"glossary": 0, "runbooks": 1, "teams": 2}
    vectors = rng.normal(scale=0.1, size=(rows, 16))
    for row, label in enumerate(labels):
        vectors[row, centres[label]] += 3.0
    return StarMapPoints(vectors, labels, [f"{label}/doc-{i}" for i, label in enumerate(labels)])


def test_topic_is_the_first_folder_of_the_id_or_the_source_folder() -> None:
    assert topic_of("runbooks/mistral-failover") == "runbooks"
    assert topic_of("faq-fika", "/kb/faq/fika.md") == "faq"
    assert topic_of("lonely") == "other" and topic_of("x", "https://wiki.example/x") == "other"


def test_map_is_a_png_with_documents_and_questions(tmp_path: Path) -> None:
    documents = clustered()
    questions = StarMapPoints(documents.vectors[:3] + 0.05, documents.labels[:3],
                              ["what is x?", "how do I y?", "who owns z?"])
    out = draw_star_map(documents, questions, tmp_path / "maps" / "star.png", "demo, MiniLM")
    assert out == tmp_path / "maps" / "star.png"
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 500 and image.height > 400


def test_projection_keeps_clusters_apart() -> None:
    documents = clustered()
    coords = project(documents.vectors)
    centres = {label: coords[[i for i, v in enumerate(documents.labels) if v == label]].mean(axis=0)
               for label in set(documents.labels)}
    spread = max(np.linalg.norm(coords[i] - centres[v]) for i, v in enumerate(documents.labels))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in centres for b in centres if a < b]
    assert min(gaps) > 2 * spread
    assert project(np.ones((1, 8))).shape == (1, 2) and project(np.zeros((0, 8))).shape == (0, 2)


def test_before_after_lines_up_a_space_that_did_not_move(tmp_path: Path) -> None:
    before = clustered()
    coords = project(before.vectors)
    mirrored = coords * np.array([-1.0, 1.0])
    aligned = align_to(mirrored, coords, before.names, before.names)
    assert np.allclose(aligned, coords, atol=1e-4)

    after = StarMapPoints(-before.vectors, before.labels, before.names)
    out = draw_before_after((before, None), (after, None), tmp_path / "ba.png",
                            titles=("ft0001", "ft0002"))
    with Image.open(out) as image:
        assert image.width > image.height  # two maps side by side


def test_degenerate_inputs_still_draw(tmp_path: Path) -> None:
    empty = StarMapPoints(np.zeros((0, 4)), [], [])
    assert draw_star_map(empty, None, tmp_path / "empty.png", "empty").stat().st_size > 0
    one = StarMapPoints(np.ones((1, 4)), ["x"], ["x/1"])
    assert draw_star_map(one, None, tmp_path / "one.png", "one").stat().st_size > 0
    with pytest.raises(ValueError, match="labels"):
        StarMapPoints(np.ones((2, 4)), ["x"], ["a", "b"])


def test_star_points_colour_questions_by_their_document() -> None:
    corpus = EvalCorpus.from_texts({"glossary/rlq": "rate limit queue", "runbooks/deploy": "deploy"})
    queries = QuerySet.from_pairs([("what is the rate limit queue", ["glossary/rlq"])])
    documents, questions = star_points(FakeEmbedder(), corpus, queries)
    assert documents.names == ["glossary/rlq", "runbooks/deploy"]
    assert documents.labels == ["glossary", "runbooks"]
    assert np.allclose(np.linalg.norm(documents.vectors, axis=1), 1.0)
    assert questions is not None and questions.labels == ["glossary"]


def test_argot_map_draws_the_index_and_rated_questions(services: Services, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    services.ingestor().ingest([
        Document("glossary/rlq", "RLQ is the rate limit queue.", title="RLQ"),
        Document("glossary/aar", "AAR is the after action review.", title="AAR"),
        Document("runbooks/deploy", "Deploy through the slipway.", title="Deploy"),
    ])
    qid = services.feedback.record_question(AskedQuestion(text="what is rlq?", user="U1"))
    services.feedback.record_vote(Vote(qid, "glossary/rlq", "U1", +1))
    args = build_parser().parse_args(["map", "--out", str(tmp_path / "map.png")])
    assert args.run(args, services) == 0
    assert "3 documents and 1 questions" in capsys.readouterr().err
    assert (tmp_path / "map.png").stat().st_size > 1000
