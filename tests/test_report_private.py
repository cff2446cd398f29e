"""The learning report goes to ARGOT_OPS_CHANNEL: nothing private on its picture or in its reason."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from bot.cli import main
from bot.services import Services
from bot.settings import Settings
from engine.knowledge.glossary import glossary_entry
from engine.knowledge.sources import collect
from engine.learning import promotion
from tests.learning_support import REPO, demo_queries, rate

TINY = {"ARGOT_TRAIN_MAX_STEPS": "2", "ARGOT_TRAIN_BATCH_SIZE": "8",
        "ARGOT_TRAIN_MAX_SEQ_LENGTH": "48", "ARGOT_TRAIN_NEGATIVES": "1",
        "ARGOT_COCKTAIL_ALPHAS": "1", "ARGOT_MIN_HELD_OUT": "3", "ARGOT_MIN_NEW_RATINGS": "1",
        "ARGOT_GATE_MARGIN": "-1"}
SECRET_TERM = "Nightjar"
DM = "D0SECRET"


@pytest.mark.slow
def test_a_dm_glossary_entry_never_appears_on_the_star_map(home, monkeypatch) -> None:
    for name, value in TINY.items():
        monkeypatch.setenv(name, value)
    services = Services(Settings.load())
    documents = [d for d in collect([str(REPO / "bot" / "demo" / "kb")]).documents
                 if d.doc_id.startswith("glossary/")]
    secret = glossary_entry(SECRET_TERM, "the codename of the layoffs plan", author="U1",
                            channel=DM, private=True)
    services.ingestor().ingest([*documents, secret])
    questions = [(q, rel) for q, rel in demo_queries() if all(d.startswith("glossary/") for d in rel)]
    rate(services.feedback, services.retriever(), [*questions, ("what is nightjar", [secret.doc_id])])

    drawn: list[tuple] = []
    real = __import__("engine.learning.starmap", fromlist=["draw_before_after"]).draw_before_after
    monkeypatch.setattr("engine.learning.starmap.draw_before_after",
                        lambda before, after, out, **kw: (drawn.append((before, after)),
                                                          real(before, after, out, **kw))[1])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", "--json"]) == 0
    report = json.loads(out.getvalue())
    assert report["decision"] in ("promoted", "rejected"), report["reason"]
    [(before, after)] = drawn
    for documents_side, questions_side in (before, after):
        assert secret.doc_id not in documents_side.names and len(documents_side.names) == len(documents)
        assert not any(DM in label for label in documents_side.labels)
        assert "what is nightjar" not in (questions_side.names if questions_side else [])
    assert SECRET_TERM.lower() not in json.dumps(report).lower()


def test_an_incomplete_copy_names_no_document_in_its_reason() -> None:
    problems = ["glossary/D0SECRET/nightjar missing", "runbooks/payroll stale", "a extra",
                "3 chunks, the active collection has 4"]
    reason = promotion.tally(problems)
    assert reason == "1 document missing, 1 document stale, 1 document extra, chunk counts differ"
    assert "nightjar" not in reason
