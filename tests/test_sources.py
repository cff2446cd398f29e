"""Reading documents: every format PRODUCT.md lists, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import IngestError
from engine.knowledge.chunking import chunk_document
from engine.knowledge.sources import collect, parse_jsonl
from engine.types import Document


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_folder_gives_ids_from_relative_paths_and_titles_from_headings(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "services" / "phoenix.md", "# Project Phoenix\n\nThe billing service.")
    write(tmp_path / "kb" / "notes.txt", "Heron routes parcels.")
    write(tmp_path / "kb" / ".git" / "config", "ignored")
    collected = collect([str(tmp_path / "kb")])
    by_id = {d.doc_id: d for d in collected.documents}
    assert set(by_id) == {"services/phoenix", "notes"}
    assert by_id["services/phoenix"].title == "Project Phoenix"
    assert collected.errors == []


def test_markdown_front_matter_sets_id_url_and_channels(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "---\nid: custom-id\nurl: https://wiki.example/a\nchannels: C1, G2\n"
                             "owner: plumbers\n---\n# A title\n\nBody text.")
    [doc] = collect([str(tmp_path / "a.md")]).documents
    assert (doc.doc_id, doc.url, doc.channels) == ("custom-id", "https://wiki.example/a", ("C1", "G2"))
    assert doc.metadata == {"owner": "plumbers"}


def test_html_drops_scripts_and_keeps_headings_as_sections(tmp_path: Path) -> None:
    html = ("<html><head><title>Heron</title><script>alert('x')</script></head><body>"
            "<h1>Heron</h1><p>Routing engine.</p><h2>Failover</h2><p>Flip the switch.</p></body></html>")
    [doc] = collect([str(write(tmp_path / "heron.html", html))]).documents
    assert doc.title == "Heron"
    assert "alert" not in doc.text
    chunks = chunk_document(doc)
    assert [c.heading for c in chunks] == ["", "Failover"]
    assert "Flip the switch." in chunks[1].text


def test_jsonl_keeps_ids_and_turns_other_keys_into_metadata(tmp_path: Path) -> None:
    rows = [{"id": "faq-7", "text": "Fika is at three.", "title": "Fika", "url": "https://x.example",
             "team": "people"}]
    [doc] = collect([str(write(tmp_path / "faq.jsonl", "\n".join(map(json.dumps, rows))))]).documents
    assert (doc.doc_id, doc.title, doc.url, doc.metadata) == ("faq-7", "Fika", "https://x.example",
                                                              {"team": "people"})


@pytest.mark.parametrize("line, message", [
    ("not json", "faq.jsonl:2: not JSON"),
    ('{"id": "x"}', "faq.jsonl:2: missing text"),
    ('{"text": "no id"}', "faq.jsonl:2: missing id"),
])
def test_a_bad_jsonl_line_rejects_the_file_naming_file_and_line(line: str, message: str) -> None:
    text = '{"id": "a", "text": "first"}\n' + line
    with pytest.raises(IngestError, match=message):
        parse_jsonl(text, "faq.jsonl")


@pytest.mark.parametrize("content, message", [
    (b"\x00\x01\x02binary", "looks binary"),
    ("caf\u00e9".encode("latin-1"), "not UTF-8"),
    (b"   \n\n", "empty"),
])
def test_unreadable_files_are_reported_and_others_still_read(tmp_path: Path, content: bytes,
                                                             message: str) -> None:
    write(tmp_path / "kb" / "bad.txt", content)
    write(tmp_path / "kb" / "good.md", "# Good\n\nFine.")
    collected = collect([str(tmp_path / "kb")])
    assert [d.doc_id for d in collected.documents] == ["good"]
    assert len(collected.errors) == 1 and message in collected.errors[0]


def test_missing_path_and_unsupported_type_are_errors(tmp_path: Path) -> None:
    collected = collect([str(tmp_path / "nope"), str(write(tmp_path / "x.pdf", b"%PDF"))])
    assert any("no such file" in e for e in collected.errors)
    assert any("unsupported file type .pdf" in e for e in collected.errors)


def test_duplicate_ids_across_files_keep_the_first(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", '{"id": "same", "text": "one"}')
    write(tmp_path / "b.jsonl", '{"id": "same", "text": "two"}')
    collected = collect([str(tmp_path)])
    assert [d.text for d in collected.documents] == ["one"]
    assert "duplicate id 'same'" in collected.errors[0]


def test_images_are_collected_separately(tmp_path: Path) -> None:
    write(tmp_path / "diagram.png", b"\x89PNG\r\n\x1a\n")
    collected = collect([str(tmp_path)])
    assert collected.documents == [] and [i for _, i in collected.images] == ["diagram"]


def test_long_sections_are_split_and_every_chunk_remembers_its_document() -> None:
    body = "\n\n".join(f"Paragraph {n} " + "word " * 60 for n in range(6))
    doc = Document(doc_id="runbooks/long", title="Long runbook", text=f"# Long runbook\n\n## Steps\n\n{body}")
    chunks = chunk_document(doc)
    assert len(chunks) >= 3
    assert all(c.doc_id == "runbooks/long" and c.heading == "Steps" for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text.split()) <= 160 for c in chunks)
    assert chunks[0].embedding_text.startswith("Long runbook > Steps\n")
