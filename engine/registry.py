"""The model registry: every fine-tuned version on disk, exactly one of them active.

Layout under `root` (ARGOT_HOME/models):
    registry.json        {"active": VERSION, "previous": [...], "versions": {...}}
    ft0001/ ft0002/ ...  saved sentence-transformers models

`base` is the configured ARGOT_MODEL itself. The active version is switched by writing
registry.json to a temporary file and renaming it over the old one, so a reader sees
either the old or the new state, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ArgotError

BASE = "base"


class RegistryError(ArgotError):
    pass


@dataclass(frozen=True)
class ModelVersion:
    """One model Argot can answer with. `path` is None for the base model."""

    version: str
    path: str | None = None
    parent: str | None = None
    created_at: float = field(default_factory=time.time)
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / "registry.json"
        self._cache: tuple[float, dict[str, Any]] | None = None

    # -- reading ---------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            mtime = self.file.stat().st_mtime_ns
        except FileNotFoundError:
            return {"active": BASE, "history": [], "versions": {}}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        state = json.loads(self.file.read_text())
        self._cache = (mtime, state)
        return state

    def active(self) -> ModelVersion:
        return self.get(self._state()["active"])

    def get(self, version: str) -> ModelVersion:
        if version == BASE:
            return ModelVersion(BASE, created_at=0.0, note="the configured ARGOT_MODEL")
        versions = self._state()["versions"]
        if version not in versions:
            known = ", ".join([BASE, *versions]) or BASE
            raise RegistryError(f"No model version {version!r}; known: {known}")
        return ModelVersion(**versions[version])

    def versions(self) -> list[ModelVersion]:
        state = self._state()
        return [self.get(BASE), *(ModelVersion(**row) for row in state["versions"].values())]

    def history(self) -> list[str]:
        """Versions that were active before, newest last."""
        return list(self._state()["history"])

    # -- writing ---------------------------------------------------------------------

    def new_version_dir(self) -> tuple[str, Path]:
        """A fresh folder for a candidate; it only becomes a version once registered."""
        self.root.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name[2:]) for p in self.root.glob("ft[0-9][0-9][0-9][0-9]*")
                    if p.name[2:].isdigit()]
        number = max(existing, default=0) + 1
        name = f"ft{number:04d}"
        path = self.root / name
        path.mkdir()
        return name, path

    def register(self, version: ModelVersion) -> ModelVersion:
        state = self._fresh_state()
        state["versions"][version.version] = asdict(version)
        self._write(state)
        return version

    def promote(self, version: str) -> ModelVersion:
        state = self._fresh_state()
        chosen = self.get(version)
        if state["active"] != version:
            state["history"] = [*state["history"], state["active"]][-20:]
            state["active"] = version
            self._write(state)
        return chosen

    def publish(self, version: ModelVersion) -> ModelVersion:
        """Register a version and make it active in one atomic write: a crash leaves
        either the old state or the new one, never a registered-but-unswitched half."""
        state = self._fresh_state()
        state["versions"][version.version] = asdict(version)
        if state["active"] != version.version:
            state["history"] = [*state["history"], state["active"]][-20:]
            state["active"] = version.version
        self._write(state)
        return version

    def forget(self, version: str) -> None:
        """Drop a version that is not active from the registry (its files are the caller's)."""
        state = self._fresh_state()
        if version == state["active"]:
            raise RegistryError(f"{version} is active; roll back before removing it")
        state["versions"].pop(version, None)
        state["history"] = [v for v in state["history"] if v != version]
        self._write(state)

    def unregistered_dirs(self) -> list[Path]:
        """Candidate folders no version points at: what a killed cycle leaves behind."""
        known = set(self._fresh_state()["versions"])
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("ft[0-9][0-9][0-9][0-9]*")
                      if p.is_dir() and p.name not in known)

    def stale_temp_files(self, older_than: float = 60.0) -> list[Path]:
        """Half-written registry files of a writer that died before its rename."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than
        return [p for p in self.root.glob(".registry-*.json") if p.stat().st_mtime < cutoff]

    def rollback(self, version: str | None = None) -> ModelVersion:
        """Back to `version`, or to the one that was active before the current one."""
        state = self._fresh_state()
        if version is None:
            history = [v for v in state["history"] if v != state["active"]]
            if not history:
                raise RegistryError("Nothing to roll back to: no version was active before "
                                    f"{state['active']}")
            version = history[-1]
        self.get(version)
        state["history"] = [v for v in state["history"] if v != version] + [state["active"]]
        state["active"] = version
        self._write(state)
        return self.get(version)

    def _fresh_state(self) -> dict[str, Any]:
        self._cache = None
        state = self._state()
        return {"active": state["active"], "history": list(state["history"]),
                "versions": dict(state["versions"])}

    def _write(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.root, prefix=".registry-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(state, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.file)
        self._cache = None
