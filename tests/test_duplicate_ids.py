"""A repeated document id costs only itself: the repeat is reported where it is and
skipped, everything else is indexed, and `argot ingest` exits 1 as for any skipped input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from engine.knowledge.sources import collect
from tests.fakes import FakeEmbedder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(n: int, repeat_at: int) -> str:
    ids = [f"doc-{i}" for i in range(n)]
    ids[repeat_at] = ids[3]
    return "\n".join(json.dumps({"id": i, "text": f"text {k}"}) for k, i in enumerate(ids))


def test_a_repeated_jsonl_id_skips_only_that_line_and_names_it(tmp_path: Path) -> None:
    export = write(tmp_path / "export.jsonl", jsonl(575, repeat_at=400))
    collected = collect([str(export)])
    assert len(collected.documents) == 574
    assert [d.text for d in collected.documents if d.doc_id == "doc-3"] == ["text 3"]
    assert collected.errors == [f"{export}:401: duplicate id 'doc-3' (also in {export}:4); "
                                "the second was not indexed"]


def test_two_markdown_files_with_one_front_matter_id_keep_the_first(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "a.md", "---\nid: onboarding\n---\n# Onboarding\n\nDay one.")
    write(tmp_path / "kb" / "b.md", "---\nid: onboarding\n---\n# Onboarding v2\n\nDay two.")
    write(tmp_path / "kb" / "c.md", "# Other\n\nKept.")
    collected = collect([str(tmp_path / "kb")])
    assert sorted((d.doc_id, d.title) for d in collected.documents) == [("c", "Other"),
                                                                       ("onboarding", "Onboarding")]
    [error] = collected.errors
    assert error.startswith(f"{tmp_path / 'kb' / 'b.md'}: duplicate id 'onboarding'")


def test_two_folders_holding_the_same_id_keep_the_first(tmp_path: Path) -> None:
    write(tmp_path / "one" / "gtq.md", "# GTQ\n\nThe golden ticket queue.")
    write(tmp_path / "two" / "gtq.md", "# GTQ copy\n\nAnother.")
    write(tmp_path / "two" / "bosun.md", "# Bosun\n\nDeploy duty.")
    collected = collect([str(tmp_path / "one"), str(tmp_path / "two")])
    assert sorted((d.doc_id, d.title) for d in collected.documents) == [("bosun", "Bosun"),
                                                                       ("gtq", "GTQ")]
    assert len(collected.errors) == 1 and "two/gtq.md: duplicate id 'gtq'" in collected.errors[0]


def test_argot_ingest_indexes_the_rest_and_exits_1(home: Path, fake_embedder: FakeEmbedder,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr("engine.embedders.build_text_embedder", lambda *a, **k: fake_embedder)
    export = write(home.parent / "export.jsonl", jsonl(20, repeat_at=10))
    assert main(["ingest", str(export)]) == 1
    err = capsys.readouterr().err
    assert f"error: {export}:11: duplicate id 'doc-3'" in err
    assert main(["ask", "text 19", "--json"]) == 0
    assert "doc-19" in capsys.readouterr().out
