"""The model registry: every fine-tuned version on disk, exactly one of them active.

Layout under `root` (ARGOT_HOME/models):
    registry.json        {"active": NAME, "history": [NAME, ...], "versions": {NAME: {...}}}
    ft0001/ ft0002/ ...  saved sentence-transformers models

A version is known by its registry *name*: `base` is the configured ARGOT_MODEL itself,
`ft0001`, `ft0002`... are fine-tuned ones. A fine-tuned version's embedder has its name as
`model_id`, so its collection in the index is keyed by the same name (`bot.services`).
The active version is switched by writing registry.json to a temporary file and renaming
it over the old one, so a reader sees either the old or the new state, never half of one.

A version's folder is stored relative to `root` ("ft0002"), so a home that is moved,
copied or restored from a backup answers with its own folders, and pruning never
touches another home's. (Files written before this stored absolute paths: a version
whose own folder, `root/NAME`, exists is read from there, and stored relative at the
next write.)

With a `pointer` (engine/activemodel.py: a row in the feedback database) the pointer
decides which version is active, so every process of a deployment agrees; it is written
wherever registry.json switches. A process whose models folder lacks the version the
pointer names (not in its registry.json, or its folder missing) logs that once and keeps
answering with the one its file names until the files appear.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from engine.errors import ArgotError

BASE = "base"
log = logging.getLogger(__name__)


class ActivePointer(Protocol):
    """Where the deployment keeps the active name (engine.activemodel.ActiveModel)."""

    def get(self, fresh: bool = False) -> str | None: ...

    def set(self, name: str) -> None: ...


class RegistryError(ArgotError):
    pass


@dataclass(frozen=True)
class ModelVersion:
    """One model Argot can answer with. `path` is None for the base model."""

    name: str
    """The registry name: "base", "ft0001"..."""
    path: str | None = None
    parent: str | None = None
    created_at: float = field(default_factory=time.time)
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""


class ModelRegistry:
    def __init__(self, root: Path, pointer: ActivePointer | None = None) -> None:
        self.root = root
        self.file = root / "registry.json"
        self.pointer = pointer
        self._cache: tuple[float, dict[str, Any]] | None = None
        self._read_active = BASE
        self._reloaded = False
        self._missing: set[str] = set()

    # -- reading ---------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            mtime = self.file.stat().st_mtime_ns
        except FileNotFoundError:
            return {"active": BASE, "history": [], "versions": {}}
        if self._cache and self._cache[0] == mtime:
            return self._cache[1]
        state = json.loads(self.file.read_text())
        self._cache, self._reloaded = (mtime, state), True
        return state

    def active(self) -> ModelVersion:
        state = self._state()
        fresh, self._reloaded = self._reloaded, False  # the file changed: ask, not cache
        name = (self.pointer.get(fresh=fresh) if self.pointer else None) or state["active"]
        if name == state["active"] or self._on_disk(name, state):
            return self.get(name)
        if name not in self._missing:
            self._missing.add(name)
            log.warning("model version %s is active but not in %s; answering with %s until "
                        "its files are there", name, self.root, state["active"])
        return self.get(state["active"])

    def _on_disk(self, name: str, state: dict[str, Any]) -> bool:
        row = state["versions"].get(name)
        if name == BASE:
            return True
        path = self._version(row).path if row else None
        return bool(path and Path(path).is_dir())

    def _version(self, row: dict[str, Any]) -> ModelVersion:
        """A stored row with its folder as a path on this machine (see the module's note)."""
        version = from_row(row)
        if not version.path:
            return version
        stored = Path(version.path)
        own = self.root / version.name
        if not stored.is_absolute():
            return replace(version, path=str(self.root / stored))
        return replace(version, path=str(own)) if own.is_dir() else version

    def _row(self, version: ModelVersion) -> dict[str, Any]:
        """A version as registry.json stores it: a folder inside `root` relative to it."""
        row = asdict(version)
        if version.path:
            try:
                row["path"] = str(Path(version.path).resolve().relative_to(self.root.resolve()))
            except ValueError:
                pass  # a folder elsewhere stays as given
        return row

    def get(self, name: str) -> ModelVersion:
        if name == BASE:
            return ModelVersion(BASE, created_at=0.0, note="the configured ARGOT_MODEL")
        versions = self._state()["versions"]
        if name not in versions:
            known = ", ".join([BASE, *versions]) or BASE
            raise RegistryError(f"No model version {name!r}; known: {known}. "
                                "`argot models` lists them.")
        return self._version(versions[name])

    def versions(self) -> list[ModelVersion]:
        state = self._state()
        return [self.get(BASE), *(self._version(row) for row in state["versions"].values())]

    def history(self) -> list[str]:
        """Names of the versions that were active before, newest last."""
        return list(self._state()["history"])

    def previous(self) -> str:
        """The name a plain rollback goes back to: the last one active before the current."""
        state = self._state()
        history = [name for name in state["history"] if name != state["active"]]
        if not history:
            raise RegistryError(f"Nothing to roll back to: no version was active before "
                                f"{state['active']}")
        return history[-1]

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
        state["versions"][version.name] = asdict(version)
        self._write(state)
        return version

    def promote(self, name: str) -> ModelVersion:
        """Make a known version active; the one active until now goes to the history.

        This is the bare registry switch: `engine.learning.promotion.rollback` brings the
        version's collection up to date before calling it."""
        state = self._fresh_state()
        chosen = self.get(name)
        if state["active"] != name:
            activate(state, name)
            self._write(state)
        return chosen

    def publish(self, version: ModelVersion) -> ModelVersion:
        """Register a version and make it active in one atomic write: a crash leaves
        either the old state or the new one, never a registered-but-unswitched half."""
        state = self._fresh_state()
        state["versions"][version.name] = asdict(version)
        if state["active"] != version.name:
            activate(state, version.name)
        self._write(state)
        return version

    def forget(self, name: str) -> None:
        """Drop a version that is not active from the registry (its files are the caller's)."""
        state = self._fresh_state()
        if name == state["active"]:
            raise RegistryError(f"{name} is active; roll back before removing it")
        state["versions"].pop(name, None)
        state["history"] = [v for v in state["history"] if v != name]
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

    def _fresh_state(self) -> dict[str, Any]:
        self._cache = None
        state = self._state()
        self._read_active = state["active"]
        return {"active": state["active"], "history": list(state["history"]),
                "versions": dict(state["versions"])}

    def _write(self, state: dict[str, Any]) -> None:
        # Every row is stored as `_row` writes it, whoever wrote it (a version just
        # registered, or a row an older release stored with its full path).
        state = {**state, "versions": {name: self._row(self._version(row))
                                       for name, row in state["versions"].items()}}
        if self.pointer and state["active"] != self._read_active:
            self.pointer.set(state["active"])  # first: every process switches with this one
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.root, prefix=".registry-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(state, out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.file)
        self._cache = None


def activate(state: dict[str, Any], name: str) -> None:
    """`name` becomes active; the one active until now is the newest entry of the history
    (which never lists the active version, and keeps the last 20)."""
    history = [v for v in state["history"] if v != name]
    state["history"] = [*history, state["active"]][-20:]
    state["active"] = name


def from_row(row: dict[str, Any]) -> ModelVersion:
    """A version as registry.json stores it (files written before the rename say `version`)."""
    row = dict(row)
    if "version" in row:
        row["name"] = row.pop("version")
    return ModelVersion(**row)
