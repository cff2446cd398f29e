"""A mistyped visibility never makes a document public: it is named and not indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.knowledge.sources import collect


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("front", ["Channels: G123", "channel: G123", "visibility: G123",
                                   "channels:", "channels: general", "channels: , ,"])
def test_a_mistyped_front_matter_visibility_skips_the_page(tmp_path: Path, front: str) -> None:
    write(tmp_path / "kb" / "secret.md", f"---\n{front}\n---\n# Payroll runbook\n\nThe payroll key.")
    write(tmp_path / "kb" / "public.md", "# Lunch\n\nLunch is at noon.")
    collected = collect([str(tmp_path / "kb")])
    assert [doc.doc_id for doc in collected.documents] == ["public"]
    [error] = collected.errors
    assert "secret.md" in error and "channels" in error and "Not indexed" in error


@pytest.mark.parametrize("channels", [[], "", "G123", True, None, [1], ["general"]])
def test_a_mistyped_jsonl_visibility_skips_it(tmp_path: Path, channels: object) -> None:
    row = {"id": "payroll", "text": "The payroll key.", "channels": channels}
    collected = collect([str(write(tmp_path / "docs.jsonl", json.dumps(row)))])
    assert collected.documents == []
    [error] = collected.errors
    assert "docs.jsonl:1" in error and "channels" in error


@pytest.mark.parametrize("key", ["Channels", "channel", "CHANNELS"])
def test_a_lookalike_jsonl_key_skips_it(tmp_path: Path, key: str) -> None:
    row = {"id": "payroll", "text": "The payroll key.", key: ["G123"]}
    collected = collect([str(write(tmp_path / "docs.jsonl", json.dumps(row)))])
    assert collected.documents == [] and "docs.jsonl:1" in collected.errors[0]


def test_well_formed_visibility_still_restricts(tmp_path: Path) -> None:
    row = {"id": "payroll", "text": "The payroll key.", "channels": ["G123", "C9"]}
    write(tmp_path / "kb" / "docs.jsonl", json.dumps(row))
    write(tmp_path / "kb" / "a.md", "---\nchannels: G123, D42\n---\n# A\n\nBody.")
    by_id = {doc.doc_id: doc.channels for doc in collect([str(tmp_path / "kb")]).documents}
    assert by_id == {"payroll": ("G123", "C9"), "a": ("G123", "D42")}
