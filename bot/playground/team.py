""""Let the team rate": watch Argot learn the demo team's slang, in a few minutes.

The demo team (bot/demo/team.jsonl, the jargon benchmark's three rounds) speaks a slang
the knowledge base never uses: "the tollbooth" for Tollgate, "sparkles" for feature
flags, "yeet" for deploy. Each press of the button plays the next round the team has not
asked yet (new teammates, new questions, rating what serves then, as in the benchmark).
The step runs on a thread, and the page follows it:

1. **before**: the team's held-out slang questions (nobody rates them) are answered by
   what serves now, and scored (MRR@10, and whether the best match is right);
2. **the team rates**: four teammates ask the round's questions in #general, each in several
   wordings, and rate what the bot shows (`bot.playground.teammates`: 👍 a right best
   match; else 👎 and 👍 a right alternative; half of them reply with the right page when
   nothing shown is right), all through the emulated Slack, so the page shows it happen;
3. **learning**: the "learn now" cycle runs on those ratings (the real one, its gate
   included: it may reject);
4. **after**: the same held-out questions answered again, side by side with before,
   with what the cycle learnt (and the glossary it learnt but did not keep).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.playground.demo import TEAM
from bot.playground.learning import wait_while_running
from bot.playground.teammates import OUTCOMES, Teammates, wait_for_votes
from engine.evaluation.querysets import normalise_question

if TYPE_CHECKING:
    from bot.playground.runner import Playground

log = logging.getLogger("argot.playground")

REPLIES = 0.5
"""Share of teammates who reply with the right page when nothing shown is right."""
EXAMPLES = 6
"""Held-out questions shown with their best match before and after."""


@dataclass(frozen=True)
class TeamQuestion:
    question: str
    relevant: tuple[str, ...]
    person: str = ""
    plain: str = ""
    round: int = 1
    """The round a rated question is asked in (the button's first press asks round 1)."""


@dataclass(frozen=True)
class Team:
    rated: tuple[TeamQuestion, ...]
    held_out: tuple[TeamQuestion, ...]

    @classmethod
    def load(cls, path: Path = TEAM) -> Team:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions = {kind: tuple(TeamQuestion(r["question"], tuple(r["relevant"]), r.get("person", ""),
                                              r.get("plain", ""), int(r.get("round", 1)))
                                 for r in rows if r["set"] == kind)
                     for kind in ("rated", "held_out")}
        return cls(questions["rated"], questions["held_out"])

    @property
    def rounds(self) -> int:
        return max((q.round for q in self.rated), default=0)

    def round(self, number: int) -> tuple[TeamQuestion, ...]:
        return tuple(q for q in self.rated if q.round == number)

    def next_round(self, asked: set[str]) -> int | None:
        """The first round with a question not yet asked (`asked`: normalised texts), or
        None when the team has asked them all."""
        return next((n for n in range(1, self.rounds + 1)
                     if any(normalise_question(q.question) not in asked for q in self.round(n))), None)


def answered(playground: Playground, questions: Sequence[TeamQuestion]
             ) -> tuple[dict[str, Any], list[dict[str, str] | None]]:
    """What serves now, on `questions`: (MRR@10 and best-match accuracy, each best match)."""
    from engine.evaluation.metrics import score_rankings

    services = playground.services
    version = services.registry.active()
    retriever = services.retriever(version)
    hits = [retriever.search(q.question, 10) for q in questions]
    rankings = [[hit.doc_id for hit in found] for found in hits]
    scores = score_rankings(zip(rankings, [set(q.relevant) for q in questions], strict=True))
    return ({"version": version.name, "mrr@10": round(scores.mrr_at_10, 3),
             "recall@1": round(scores.recall_at_1, 3), "questions": len(questions)},
            [{"doc_id": found[0].doc_id, "title": found[0].title} if found else None for found in hits])


def example(question: TeamQuestion, before: dict[str, str] | None, after: dict[str, str] | None
            ) -> dict[str, Any]:
    """One held-out question with its best match before and after, and whether each is right."""

    def side(best: dict[str, str] | None) -> dict[str, Any]:
        return {"title": best["title"] if best else "(nothing found)",
                "right": bool(best) and best["doc_id"] in question.relevant}

    return {"question": question.question, "plain": question.plain, "before": side(before),
            "after": side(after)}


class TeamRuns:
    """The state behind the "Let the team rate" button; one run at a time."""

    def __init__(self, playground: Playground, team: Callable[[], Team] = Team.load,
                 replies: float = REPLIES) -> None:
        self.playground, self.team, self.replies = playground, team, replies
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"state": "idle", "message": "", "run": 0}

    def state(self) -> dict[str, Any]:
        with self._lock:
            if "next_round" in self._state or self._state["state"] == "running":
                return dict(self._state)
        team = self.team()
        upcoming = {"next_round": team.next_round(asked_questions(self.playground)), "rounds": team.rounds}
        with self._lock:
            self._state = {**upcoming, **self._state}
            return dict(self._state)

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._state = {**self._state, **changes}

    def start(self) -> dict[str, Any]:
        """Start the team's next round unless the step (or a learning cycle) is running,
        or the team has asked every round; returns the state."""
        team = self.team()
        number = team.next_round(asked_questions(self.playground))
        with self._lock:
            if self._state["state"] == "running":
                return dict(self._state)
            if self.playground.learning.state()["state"] == "running":
                return {**self._state, "message": "A learning cycle is running; try again when it is done."}
            if number is None:
                return {**self._state, "next_round": None, "rounds": team.rounds,
                        "message": f"The team has asked all {team.rounds} rounds of its questions. Ask and "
                                   "rate your own in #general, then press Learn now."}
            run = self._state["run"] + 1
            self._state = {"state": "running", "phase": "before", "run": run, "started": time.time(),
                           "round": number, "rounds": team.rounds,
                           "message": f"Round {number} of {team.rounds}. Answering the team's slang "
                                      "questions before anything is learnt…"}
            started = dict(self._state)
        threading.Thread(target=self._run, args=(team, number), name="argot-team-rates", daemon=True).start()
        return started

    def wait(self, timeout: float) -> dict[str, Any]:
        """Block until the step is not running (tests); returns the state."""
        return wait_while_running(self.state, timeout)

    def _run(self, team: Team, number: int) -> None:
        try:
            self._update(**self._steps(team, number))
        except Exception as exc:  # noqa: BLE001 - the page must hear about any failure
            log.exception("the team step failed")
            self._update(state="failed", message=f"The team step failed: {type(exc).__name__}: {exc}")

    def _steps(self, team: Team, round_number: int) -> dict[str, Any]:
        playground = self.playground
        before, best_before = answered(playground, team.held_out)
        self._update(before=before, phase="rating",
                     message=f"Held-out slang before: MRR@10 {before['mrr@10']:.3f}. The team is asking…")
        teammates = Teammates(playground.slack, replies=self.replies)
        votes = playground.services.feedback.vote_count()
        outcomes = dict.fromkeys(OUTCOMES, 0)
        rated = team.round(round_number)
        for number, q in enumerate(rated, start=1):
            asked = teammates.ask_and_rate(q.person, q.question, q.relevant)
            outcomes[asked.outcome] += 1
            votes += asked.votes
            self._update(outcomes=dict(outcomes), message=f"Round {round_number}: {q.person.capitalize()} "
                         f"asked question {number} of {len(rated)} and rated the answers…")
        wait_for_votes(playground.services.feedback, votes)
        learning = playground.learning
        learning.start()
        self._update(phase="learning", message="The team has rated. Learning from their ratings…")
        report = learning.wait(timeout=3600).get("report") or {}
        after, best_after = answered(playground, team.held_out)
        examples = [example(q, b, a) for q, b, a in zip(team.held_out, best_before, best_after, strict=True)]
        changed = [e for e in examples if e["before"]["right"] != e["after"]["right"]]
        shown = (changed + [e for e in examples if e not in changed])[:EXAMPLES]
        upcoming = team.next_round(asked_questions(playground))
        again = (f" Press again for round {upcoming}: new teammates ask new questions and rate what "
                 "serves then." if upcoming else "")
        return {"state": "done", "phase": "after", "after": after, "examples": shown,
                "decision": report.get("decision"), "learnt": report.get("learnt") or [],
                "not_kept": (report.get("levers") or {}).get("not_kept") or [],
                "next_round": upcoming,
                "message": f"Round {round_number} of {team.rounds}: held-out slang MRR@10 "
                           f"{before['mrr@10']:.3f} → {after['mrr@10']:.3f} "
                           f"({report.get('decision', 'no decision')}).{again}"}


def asked_questions(playground: Playground) -> set[str]:
    """The questions rated in the playground so far (normalised): which rounds are done."""
    return {normalise_question(row["question"]) for row in playground.services.feedback.export()}
