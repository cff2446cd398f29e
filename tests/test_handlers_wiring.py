"""The edges stay thin: no ML imports in handlers/ or the app, and the manifest matches the code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO

HEAVY = {"chromadb", "torch", "sentence_transformers", "open_clip", "transformers"}
EDGE_FILES = [*sorted((REPO / "handlers").glob("*.py")), REPO / "bot" / "app.py",
              REPO / "bot" / "serving.py", REPO / "bot" / "cli" / "slack.py"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_handlers_and_the_app_never_import_ml_libraries() -> None:
    offenders = {path.name: imported_modules(path) & HEAVY for path in EDGE_FILES}
    assert not any(offenders.values()), offenders


def test_building_the_app_loads_no_ml_library() -> None:
    code = ("import sys, bot.app, handlers; "
            f"print(sorted(m for m in {sorted(HEAVY)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_manifest_declares_exactly_the_events_and_command_the_handlers_use() -> None:
    manifest = yaml.safe_load((REPO / "bot" / "manifest.yml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    source = "\n".join(p.read_text() for p in (REPO / "handlers").glob("*.py"))
    listened = set(re.findall(r'app\.event\("([^"]+)"', source))
    assert {"message" if e.startswith("message.") else e for e in events} == listened
    assert commands == set(re.findall(r'app\.command\("([^"]+)"', source))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "im:history", "chat:write", "commands", "reactions:read",
            "channels:read", "groups:read"} <= scopes


def test_manifest_has_the_shortcut_the_home_tab_and_only_the_scopes_they_need() -> None:
    manifest = yaml.safe_load((REPO / "bot" / "manifest.yml").read_text())
    features = manifest["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    [save] = features["shortcuts"]
    assert (save["type"], save["callback_id"], save["name"]) == ("message", "argot_save", "Save to Argot")
    source = (REPO / "handlers" / "shortcuts.py").read_text()
    assert f'CALLBACK_ID = "{save["callback_id"]}"' in source
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {"app_mentions:read", "im:history", "channels:history", "groups:history",
                      "chat:write", "commands", "reactions:read", "channels:read", "groups:read",
                      "files:read", "files:write"}
