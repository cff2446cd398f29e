"""The model registry keeps each version's folder relative to its home."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.learning.promotion import prune
from engine.registry import ModelRegistry, ModelVersion


def published(root: Path, *names: str) -> ModelRegistry:
    registry = ModelRegistry(root)
    for name in names:
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "weights").write_text(f"{name} of {root.name}")
        registry.publish(ModelVersion(name, path=str(folder)))
    return registry


def test_a_copied_home_answers_with_its_own_folders(tmp_path: Path) -> None:
    published(tmp_path / "home" / "models", "ft0001", "ft0002")
    shutil.copytree(tmp_path / "home", tmp_path / "copy")
    (tmp_path / "copy" / "models" / "ft0002" / "weights").write_text("ft0002 of the copy")

    copy = ModelRegistry(tmp_path / "copy" / "models")
    active = copy.active()
    assert active.name == "ft0002"
    assert (Path(active.path) / "weights").read_text() == "ft0002 of the copy"
    assert json.loads(copy.file.read_text())["versions"]["ft0001"]["path"] == "ft0001"


def test_pruning_a_copy_never_removes_the_original_homes_folders(tmp_path: Path, services) -> None:
    published(tmp_path / "home" / "models", *(f"ft{n:04d}" for n in range(1, 6)))
    shutil.copytree(tmp_path / "home", tmp_path / "copy")

    removed = prune(ModelRegistry(tmp_path / "copy" / "models"), services.chroma, keep=2)
    assert removed
    assert all((tmp_path / "home" / "models" / name).is_dir() for name in removed)
    assert not any((tmp_path / "copy" / "models" / name).exists() for name in removed)


def test_a_registry_written_with_absolute_paths_reads_a_moved_homes_own_folders(tmp_path: Path) -> None:
    root = tmp_path / "moved" / "models"
    (root / "ft0001").mkdir(parents=True)
    root.joinpath("registry.json").write_text(json.dumps({
        "active": "ft0001", "history": ["base"],
        "versions": {"ft0001": {"name": "ft0001", "path": "/srv/old-home/models/ft0001"}}}))

    assert ModelRegistry(root).active().path == str(root / "ft0001")


def test_the_next_write_stores_an_older_registrys_full_paths_relative(tmp_path: Path) -> None:
    root = tmp_path / "moved" / "models"
    (root / "ft0001").mkdir(parents=True)
    root.joinpath("registry.json").write_text(json.dumps({
        "active": "ft0001", "history": ["base"],
        "versions": {"ft0001": {"name": "ft0001", "path": "/srv/old-home/models/ft0001"},
                     "ft0000": {"name": "ft0000", "path": "/srv/elsewhere/ft0000"}}}))
    registry = ModelRegistry(root)

    registry.promote("base")

    stored = json.loads(registry.file.read_text())["versions"]
    assert stored["ft0001"]["path"] == "ft0001"
    assert stored["ft0000"]["path"] == "/srv/elsewhere/ft0000"  # not here: kept as written
