"""ARGOT_HOME holds DM questions and private documents: only its owner may read it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.cli import main


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_home_and_everything_argot_writes_are_private(home: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    monkeypatch.setattr("engine.embedders.build_text_embedder",
                        lambda *a, **k: __import__("tests.fakes", fromlist=["FakeEmbedder"]).FakeEmbedder())
    previous = os.umask(0o022)
    try:
        doc = tmp_path / "kb" / "a.md"
        doc.parent.mkdir()
        doc.write_text("# Phoenix\n\nThe billing rewrite.")
        assert main(["ingest", str(doc.parent)]) == 0
        assert main(["feedback", "export"]) == 0
    finally:
        os.umask(previous)
    assert mode(home) == 0o700
    written = [p for p in home.rglob("*") if not p.is_symlink()]
    assert any(p.name == "argot.db" for p in written)
    readable = [str(p) for p in written if mode(p) & 0o077]
    assert readable == []


def test_a_home_from_an_earlier_release_is_tightened(home: Path) -> None:
    home.mkdir(mode=0o755)
    (home / "argot.db").write_bytes(b"")
    os.chmod(home / "argot.db", 0o644)
    previous = os.umask(0o022)
    try:
        main(["models"])
    finally:
        os.umask(previous)
    assert mode(home) == 0o700 and mode(home / "argot.db") == 0o600
