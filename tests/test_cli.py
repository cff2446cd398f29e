"""`argot ingest / ask / forget` as a user runs them, with the real bundled MiniLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ARGOT = [sys.executable, "-m", "bot.cli"]


def argot(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARGOT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*ARGOT, *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=home.parent)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    (folder / "services").mkdir(parents=True)
    (folder / "services" / "phoenix.md").write_text(
        "# Project Phoenix\n\nPhoenix is the billing service: it sends every invoice.\n", "utf-8")
    (folder / "services" / "heron.md").write_text(
        "# Heron\n\nHeron is the routing engine that plans parcel deliveries.\n", "utf-8")
    (folder / "faq.jsonl").write_text(json.dumps(
        {"id": "faq-fika", "text": "Fika Friday is the coffee break at three.", "title": "Fika",
         "url": "https://wiki.example/fika"}) + "\n", "utf-8")
    return folder


@pytest.mark.slow
def test_ingest_then_ask_json_as_product_md_says(tmp_path: Path, kb: Path) -> None:
    home = tmp_path / "home"
    ingest = argot("ingest", str(kb), home=home)
    assert ingest.returncode == 0, ingest.stderr
    assert "3 added" in ingest.stderr

    again = argot("ingest", str(kb), home=home)
    assert "3 unchanged, 0 chunks embedded" in again.stderr

    asked = argot("ask", "who sends the invoices?", "--json", "-k", "2", home=home)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) == {"query", "model_version", "hits"}
    assert answer["query"] == "who sends the invoices?" and len(answer["hits"]) == 2
    top = answer["hits"][0]
    assert set(top) == {"doc_id", "title", "score", "text", "url", "source"}
    assert (top["doc_id"], top["title"]) == ("services/phoenix", "Project Phoenix")

    fika = json.loads(argot("ask", "coffee break", "--json", "-k", "1", home=home).stdout)["hits"][0]
    assert (fika["doc_id"], fika["url"]) == ("faq-fika", "https://wiki.example/fika")

    assert argot("forget", "services/phoenix", home=home).returncode == 0
    after = json.loads(argot("ask", "who sends the invoices?", "--json", home=home).stdout)
    assert "services/phoenix" not in {h["doc_id"] for h in after["hits"]}


@pytest.mark.slow
def test_bad_input_gets_one_clear_message_and_keeps_the_index(tmp_path: Path, kb: Path) -> None:
    home = tmp_path / "home"
    assert argot("ingest", str(kb), home=home).returncode == 0
    (tmp_path / "broken.jsonl").write_text('{"id": "x", "text": "ok"}\n{"id": "y"}\n', "utf-8")
    broken = argot("ingest", str(tmp_path / "broken.jsonl"), home=home)
    assert broken.returncode == 1 and "broken.jsonl:2: missing text" in broken.stderr

    empty = argot("ask", "   ", home=home)
    assert empty.returncode == 2 and "The question is empty" in empty.stderr
    unknown = argot("forget", "no/such-doc", home=home)
    assert unknown.returncode == 1 and "no document with id 'no/such-doc'" in unknown.stderr

    still = json.loads(argot("ask", "parcel deliveries", "--json", home=home).stdout)
    assert still["hits"][0]["doc_id"] == "services/heron"


def test_a_wrong_setting_stops_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ARGOT_HOME": str(tmp_path), "CHROMA_PORT": "abc"}
    result = subprocess.run([*ARGOT, "ask", "x"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: CHROMA_PORT='abc' is not a whole number"
