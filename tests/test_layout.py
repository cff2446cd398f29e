"""Slack at the edge, the engine inside: import rules that keep the layout honest."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = {"chromadb", "torch", "sentence_transformers", "open_clip"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def test_handlers_and_bot_never_import_heavy_libraries() -> None:
    offenders = {str(p.relative_to(REPO)): sorted(imported_modules(p) & HEAVY)
                 for folder in ("handlers", "bot") for p in python_files(folder)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_the_index_module_imports_chromadb() -> None:
    users = [str(p.relative_to(REPO)) for folder in ("engine", "jobs", "bot", "handlers")
             for p in python_files(folder) if "chromadb" in imported_modules(p)]
    assert users == ["engine/index.py"]


def test_the_engine_knows_nothing_of_slack() -> None:
    users = [str(p.relative_to(REPO)) for p in python_files("engine")
             if imported_modules(p) & {"slack_bolt", "slack_sdk", "handlers", "bot"}]
    assert users == []
