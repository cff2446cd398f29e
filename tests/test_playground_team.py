"""The playground's "Let the team rate" step: simulated teammates ask and rate in #general
through the emulated Slack, a learning cycle runs on their ratings, and the page shows
the team's held-out slang before and after.

Fast: the real bot with a fake embedder, and a stand-in learning cycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.playground import Playground
from bot.playground.emulator import BOT_USER_ID
from bot.playground.learning import LearningRuns
from bot.playground.team import Team, TeamQuestion, TeamRuns
from bot.playground.teammates import Teammates
from bot.services import Services
from engine.types import Document
from tests.slackbot import load_team_kb
from tests.test_playground import cycle_report, no_image_model  # noqa: F401 - autouse here too

PHOENIX_PAGES = [Document(f"notes/phoenix-{n}", f"Phoenix billing note {n}: the Phoenix billing rewrite, "
                          f"part {n}.", title=f"Phoenix billing note {n}") for n in range(1, 6)]
"""Enough pages about Phoenix billing that the best match and every alternative for
"phoenix billing" are about it, so a page about something else is never shown."""

TEAM = Team(
    rated=(TeamQuestion("what is project phoenix?", ("services/phoenix",), person="ben"),
           TeamQuestion("phoenix billing", ("glossary/slipway",), person="cai"),
           TeamQuestion("who runs the quay", ("glossary/quay",), person="emil", round=2)),
    held_out=(TeamQuestion("who approves production deploys", ("glossary/bosun",), plain="same"),
              TeamQuestion("what is the quay", ("glossary/quay",))))


@pytest.fixture
def playground(services: Services, tmp_path: Path) -> Iterator[Playground]:
    load_team_kb(services)
    services.ingestor().ingest(PHOENIX_PAGES)
    learning = LearningRuns(services, cycle=cycle_report(tmp_path))
    with Playground(services, learning=learning,
                    team=lambda p: TeamRuns(p, team=lambda: TEAM, replies=1.0)) as running:
        yield running


def votes_by(services: Services, name: str, playground: Playground) -> list[tuple[str, int]]:
    user = playground.slack.user_id(name)
    return [(row["doc_id"], row["vote"]) for row in services.feedback.export() if row["user"] == user]


def test_a_teammate_who_replies_names_the_right_page_when_nothing_shown_is_right(
        playground: Playground, services: Services) -> None:
    team = Teammates(playground.slack, replies=1.0)
    asked = team.ask_and_rate("dora", "phoenix billing", ["glossary/slipway"])
    assert asked.outcome == "replied"
    assert "glossary/slipway" not in asked.shown and asked.shown
    votes = votes_by(services, "dora", playground)
    assert ("glossary/slipway", 1) in votes
    assert all(value == -1 for doc, value in votes if doc != "glossary/slipway")
    assert len(votes) == asked.votes


def test_a_teammate_who_does_not_reply_leaves_the_question_without_a_positive(
        playground: Playground, services: Services) -> None:
    asked = Teammates(playground.slack, replies=0.0).ask_and_rate("emil", "phoenix billing",
                                                                  ["glossary/slipway"])
    assert asked.outcome == "none"
    assert votes_by(services, "emil", playground) == [(asked.shown[0], -1)]


def test_the_team_asks_and_rates_then_a_cycle_learns_and_the_page_shows_before_and_after(
        playground: Playground, services: Services) -> None:
    with httpx.Client(base_url=playground.url, timeout=15) as page:
        started = page.post("/playground/api/team", json={})
        assert started.status_code == 202 and started.json()["state"] == "running"
        assert page.post("/playground/api/team", json={}).json()["run"] == 1  # one run at a time
        state = playground.team.wait(60)
        assert page.get("/playground/api/team").json() == state
    assert state["state"] == "done", state["message"]
    assert sum(state["outcomes"].values()) == 2 and state["outcomes"]["replied"] == 1
    general = playground.slack.messages(playground.channel)
    asked = {(m["user"], m["text"]) for m in general}
    assert (playground.slack.user_id("ben"), f"<@{BOT_USER_ID}> what is project phoenix?") in asked
    assert (playground.slack.user_id("cai"), f"<@{BOT_USER_ID}> phoenix billing") in asked
    assert ("glossary/slipway", 1) in votes_by(services, "cai", playground)
    assert playground.learning.state()["report"]["decision"] == "rejected"  # the stand-in's
    assert state["decision"] == "rejected"
    assert state["not_kept"] == ["phoenix → billing service (2 questions)"]  # the glossary tried
    for side in ("before", "after"):
        assert state[side]["questions"] == 2 and 0.0 <= state[side]["mrr@10"] <= 1.0
    assert state["after"]["mrr@10"] == state["before"]["mrr@10"]  # nothing was promoted
    assert {e["question"] for e in state["examples"]} == {q.question for q in TEAM.held_out}
    assert all(set(e["before"]) == {"title", "right"} for e in state["examples"])


def test_each_press_plays_the_next_round_until_the_team_has_asked_them_all(
        playground: Playground, services: Services) -> None:
    with httpx.Client(base_url=playground.url, timeout=15) as page:
        first = page.post("/playground/api/team", json={}).json()
        assert (first["round"], first["rounds"]) == (1, 2)
        assert playground.team.wait(60)["next_round"] == 2
        assert TeamRuns(playground, team=lambda: TEAM).state()["next_round"] == 2  # after a restart too

        assert page.post("/playground/api/team", json={}).json()["round"] == 2
        second = playground.team.wait(60)
        refused = page.post("/playground/api/team", json={})

    assert second["state"] == "done" and sum(second["outcomes"].values()) == 1
    assert second["next_round"] is None and "Round 2 of 2" in second["message"]
    general = playground.slack.messages(playground.channel)
    assert (playground.slack.user_id("emil"), f"<@{BOT_USER_ID}> who runs the quay") in \
        {(m["user"], m["text"]) for m in general}
    assert refused.status_code == 409 and "asked all 2 rounds" in refused.json()["message"]


def test_the_step_waits_its_turn_while_a_learning_cycle_runs(services: Services) -> None:
    import threading

    release = threading.Event()

    def slow_cycle() -> dict[str, Any]:
        release.wait(10)
        return {"decision": "skipped", "reason": "test"}

    learning = LearningRuns(services, cycle=slow_cycle)
    with Playground(services, learning=learning,
                    team=lambda p: TeamRuns(p, team=lambda: TEAM)) as running:
        learning.start()
        with httpx.Client(base_url=running.url, timeout=15) as page:
            refused = page.post("/playground/api/team", json={})
        release.set()
        learning.wait(10)
    assert refused.status_code == 409
    assert "learning cycle is running" in refused.json()["message"]


def test_the_demo_team_plays_the_jargon_benchmarks_three_rounds_in_two_presses() -> None:
    from bench.demo_team import team_file_text
    from bot.playground.demo import TEAM as TEAM_FILE

    assert TEAM_FILE.read_text(encoding="utf-8") == team_file_text()
    team = Team.load()
    assert team.rounds == 2 and [len(team.round(n)) for n in (1, 2)] == [208, 104]
    assert len(team.held_out) == 55
    assert {q.person for q in team.round(1)} == {"ana", "ben", "cai", "dora", "emil", "fern", "gus", "hana"}
    assert {q.person for q in team.round(2)} == {"ivo", "jun", "kim", "lena"}
    rated = {q.question.lower() for q in team.rated}
    assert not rated & {q.question.lower() for q in team.held_out}
