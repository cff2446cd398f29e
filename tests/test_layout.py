"""Slack at the edge, the engine inside: import rules that keep the layout honest."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = {"chromadb", "torch", "sentence_transformers", "open_clip"}
SERVING = ("handlers", "engine/search", "engine/images")
"""What answers questions: it must not depend on what learns or what measures."""
MAX_LINES = 350


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, in full (`from a.b import c` gives a.b and a.b.c),
    lazy imports inside functions and TYPE_CHECKING imports included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
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


def test_the_engine_knows_nothing_of_slack_the_bot_or_its_jobs() -> None:
    users = [str(p.relative_to(REPO)) for p in python_files("engine")
             if imported_modules(p) & {"slack_bolt", "slack_sdk", "handlers", "bot", "jobs"}]
    assert users == []


def test_serving_never_imports_learning_or_evaluation() -> None:
    offenders = {str(p.relative_to(REPO)): sorted(name for name in imported_names(p)
                                                  if name.startswith(("engine.learning",
                                                                      "engine.evaluation")))
                 for folder in SERVING for p in python_files(folder)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_bot_and_its_handlers_start_without_heavy_libraries() -> None:
    """Transitively: importing the CLI, the app and every handler loads no model library
    (they are imported inside the functions that need them)."""
    probe = ("import sys, bot.cli, bot.app, handlers; "
             "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                            check=True, timeout=120).stdout.split()
    assert sorted(HEAVY & set(loaded)) == []


def test_no_module_is_over_350_lines() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines())
             for folder in ("engine", "bot", "handlers", "jobs") for p in python_files(folder)}
    assert {path: lines for path, lines in sizes.items() if lines > MAX_LINES} == {}
