"""`argot feedback import-faq`: a FAQ's answers become documents, its pairs training data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.services import Services
from engine.errors import IngestError
from engine.evaluation.querysets import QuerySet
from engine.knowledge.faq import faq_documents, faq_training_pairs, read_faq
from tests.conftest import REPO

MARKDOWN = """# Team FAQ

Intro text that is not an answer.

## How do I get prod access?

Ask in #access and name your ticket.

### If you are on call

On-call engineers get it automatically.

## What is the RLQ?

The rate limit queue.

```bash
# is this a heading?
echo no
```

## Contacts

Not a question, so this section is left out.

# Who runs the Friday demo?
The Bosun of the week.
"""


def test_markdown_question_headings_and_their_answers(tmp_path: Path) -> None:
    path = tmp_path / "team-faq.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    entries = read_faq(path)
    assert [e.question for e in entries] == ["How do I get prod access?", "What is the RLQ?",
                                             "Who runs the Friday demo?"]
    access, rlq, demo = entries
    assert "#access" in access.answer and "On-call engineers" in access.answer  # sub-sections stay
    assert "# is this a heading?" in rlq.answer and "Not a question" not in rlq.answer
    assert demo.answer == "The Bosun of the week."
    assert access.doc_id == "faq/team-faq/how-do-i-get-prod-access"
    assert access.where == f"{path}:5"


def test_jsonl_faq_with_ids_urls_and_bad_lines_named(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text("\n".join([
        json.dumps({"question": "What is Quayline?", "answer": "A freight platform.",
                    "id": "faq/quayline", "url": "https://wiki.example/q"}),
        "",
        json.dumps({"question": "Who pays carriers?", "answer": "Mistral payouts."}),
    ]), encoding="utf-8")
    first, second = read_faq(path, prefix="faq")
    assert (first.doc_id, first.url) == ("faq/quayline", "https://wiki.example/q")
    assert second.doc_id == "faq/who-pays-carriers"

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q?", "answer": "a"}) + "\n"
                   + json.dumps({"question": "no answer?"}) + "\n", encoding="utf-8")
    with pytest.raises(IngestError, match=rf"{bad}:2: \"answer\" is missing"):
        read_faq(bad)
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nNo questions here.\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no questions found"):
        read_faq(notes)
    with pytest.raises(IngestError, match="not .csv"):
        (tmp_path / "x.csv").write_text("q,a\n", encoding="utf-8")
        read_faq(tmp_path / "x.csv")


def test_pairs_use_other_answers_as_stable_negatives() -> None:
    entries = read_faq(REPO / "bot" / "demo" / "faq.jsonl")
    pairs = faq_training_pairs(entries)
    assert len(pairs) == len(entries) == 25
    ids = {e.doc_id for e in entries}
    for pair, entry in zip(pairs, entries, strict=True):
        assert (pair.source, pair.anchor, pair.positive) == ("faq", entry.question, entry.doc_id)
        assert len(pair.negatives) == 3 and entry.doc_id not in pair.negatives
        assert set(pair.negatives) <= ids
    assert faq_training_pairs(entries) == pairs
    assert len({p.negatives for p in pairs}) > 20  # not the same three answers every time
    documents = faq_documents(entries)
    assert documents[0].title == entries[0].question and documents[0].text == entries[0].answer


def test_import_faq_indexes_answers_and_stores_pairs_once(services: Services,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "bot" / "demo" / "faq.jsonl"
    args = build_parser().parse_args(["feedback", "import-faq", str(path)])
    assert args.run(args, services) == 0
    assert "25 added" in capsys.readouterr().err
    index_ids = services.index().document_ids()
    pairs = services.feedback.training_pairs("faq")
    assert len(pairs) == 25 and {p.positive for p in pairs} == index_ids
    hits = services.retriever().search("Which service sends invoices to shippers?", k=1)
    assert hits[0].doc_id == "faq/which-service-sends-invoices-to-shippers"

    assert args.run(args, services) == 0
    assert "25 unchanged" in capsys.readouterr().err and len(services.feedback.training_pairs()) == 25
    held = QuerySet.from_feedback(services.feedback, split="all")
    assert len(held) == 25  # the FAQ questions are rated questions for `argot eval --from-feedback`
