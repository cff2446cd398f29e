"""`argot glossary` lists what was learnt and defined with its evidence; `reject` removes a
learnt entry for good, in the answers too."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bot.cli.glossary import cmd_glossary, cmd_reject
from engine.knowledge.glossary import glossary_entry
from engine.registry import ModelVersion
from engine.search.profile import LearnedProfile, ServedProfile
from engine.search.retrieval import Query
from engine.search.vocabulary import GlossaryEntry, Vocabulary


def learnt_version(services, tmp_path: Path, monkeypatch) -> ModelVersion:
    """An active version whose profile learnt two terms (its model is the fake one)."""
    services.ingestor().ingest([glossary_entry("GTQ", "the golden ticket queue for VIP support",
                                               author="U7", channel="C1", private=False)])
    folder = tmp_path / "models" / "ft0001"
    LearnedProfile(Vocabulary([
        GlossaryEntry("tollbooth", "api gateway", 7, examples=("who owns the tollbooth?",),
                      documents=("wiki/gateway",)),
        GlossaryEntry("sparkles", "feature flags", 3)])).save(folder)
    version = ModelVersion("ft0001", path=str(folder))
    base_index = services.index()
    monkeypatch.setattr(services, "active_version", lambda: version)
    monkeypatch.setattr(services, "index", lambda version=None: base_index)
    return version


def test_the_glossary_lists_learnt_and_defined_entries_with_their_evidence(services, tmp_path, monkeypatch,
                                                                          capsys):
    learnt_version(services, tmp_path, monkeypatch)

    assert cmd_glossary(argparse.Namespace(json=False), services) == 0
    text = capsys.readouterr().out
    assert cmd_glossary(argparse.Namespace(json=True), services) == 0
    listed = json.loads(capsys.readouterr().out)

    assert 'tollbooth → api gateway  (learnt from 7 rated questions)  e.g. "who owns the tollbooth?"' in text
    assert "GTQ → the golden ticket queue for VIP support  (defined by" in text
    assert [(e["term"], e["source"], e["evidence"]) for e in listed["entries"]] == \
        [("tollbooth", "learnt", 7), ("sparkles", "learnt", 3), ("GTQ", "defined", 0)]


def test_a_rejected_term_leaves_the_glossary_and_the_answers_for_good(services, tmp_path, monkeypatch,
                                                                      capsys):
    version = learnt_version(services, tmp_path, monkeypatch)
    served = ServedProfile(Path(version.path), services.registry.root, recheck_seconds=0)
    assert "api gateway" in served.expand(Query("is the tollbooth down", "is the tollbooth down")).words

    assert cmd_reject(argparse.Namespace(term=["Tollbooth"]), services) == 0
    said = capsys.readouterr().err
    cmd_glossary(argparse.Namespace(json=True), services)
    listed = json.loads(capsys.readouterr().out)

    assert "rejected: tollbooth → api gateway" in said
    assert [e["term"] for e in listed["entries"] if e["source"] == "learnt"] == ["sparkles"]
    assert listed["rejected"] == ["tollbooth"]
    assert served.expand(Query("is the tollbooth down", "is the tollbooth down")).words == \
        "is the tollbooth down"


def test_a_defined_entry_is_not_rejected_but_forgotten(services, tmp_path, monkeypatch, capsys):
    learnt_version(services, tmp_path, monkeypatch)

    assert cmd_reject(argparse.Namespace(term=["gtq"]), services) == 1

    assert "argot forget defined/gtq" in capsys.readouterr().err
