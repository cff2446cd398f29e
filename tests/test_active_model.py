"""Every process agrees on the active model through the database; a process whose models
folder lacks that version says so once and keeps answering with the one it has."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from engine.registry import ModelVersion
from tests.fakes import FakeEmbedder


def machine(settings: Settings, home: Path) -> Services:
    """A process with its own ARGOT_HOME (its own models folder), on the shared database."""
    return Services(replace(settings, home=home, database_url=settings.db_url),
                    base_embedder=FakeEmbedder())


def publish(services: Services) -> ModelVersion:
    name, path = services.registry.new_version_dir()
    (path / "config.json").write_text("{}")
    return services.registry.publish(ModelVersion(name, path=str(path), parent="base"))


def test_a_promotion_on_one_process_is_seen_by_another_without_a_restart(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    one, other = (Services(settings, base_embedder=FakeEmbedder()) for _ in range(2))
    assert other.active_version().name == "base"
    publish(one)
    assert other.active_version().name == "ft0001"
    one.registry.promote("base")
    assert other.active_version().name == "base"


def test_a_version_missing_on_this_machine_is_logged_once_and_the_old_one_answers(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings.home.mkdir(parents=True)
    a, b = machine(settings, settings.home), machine(settings, tmp_path / "machine-b")
    publish(a)
    with caplog.at_level(logging.WARNING, logger="engine.registry"):
        assert [b.active_version().name for _ in range(3)] == ["base"] * 3
    [line] = [r.getMessage() for r in caplog.records if r.name == "engine.registry"]
    assert line.startswith("model version ft0001 is active but not in ")
    assert "answering with base" in line

    shutil.copytree(settings.home / "models", tmp_path / "machine-b" / "models",
                    dirs_exist_ok=True)  # the files arrive (a shared folder, or a copy)
    assert b.active_version().name == "ft0001"
