"""Ratings → labelled questions: what a 👍, a 👎 and a passed-over answer teach the model."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engine.evaluation.querysets import held_out
from engine.feedback import AskedQuestion, FeedbackStore, ShownAnswer, TrainingPair, Vote
from engine.learning.trainingdata import (
    RatedQuestion,
    gather_ratings,
    index_pairs,
    merge_sources,
    stored_pairs,
    training_set,
)
from engine.types import Chunk


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")


def ask(store: FeedbackStore, text: str, shown: list[str], user: str = "U1") -> str:
    query_id = store.record_question(AskedQuestion(text, user=user, channel="C1"))
    for rank, doc in enumerate(shown, start=1):
        store.record_shown(ShownAnswer(query_id, doc, rank, 0.5, "base", "C1", f"{query_id}.{rank}"))
    return query_id


def by_text(ratings, text):
    return next(q for q in ratings.questions if q.text == text)


def test_thumbs_up_is_a_positive_and_thumbs_down_an_explicit_negative(store):
    q = ask(store, "what is a bosun?", ["glossary/bosun", "glossary/quay"])
    store.record_vote(Vote(q, "glossary/bosun", "U1", 1))
    store.record_vote(Vote(q, "glossary/quay", "U1", -1))

    question = by_text(gather_ratings(store), "what is a bosun?")
    assert question.positives == {"glossary/bosun": 1.0}
    assert question.negatives == {"glossary/quay": 1.0}


def test_a_page_named_in_a_reply_marks_a_question_todays_answers_missed(store):
    shown = ask(store, "what is a bosun?", ["glossary/bosun"])
    store.record_vote(Vote(shown, "glossary/bosun", "U1", 1))
    missed = [ask(store, f"who runs the slipway {n}?", ["glossary/quay"]) for n in range(3)]
    for query_id in missed:
        store.record_vote(Vote(query_id, "glossary/quay", "U1", -1))
    store.record_vote(Vote(missed[0], "glossary/slipway", "U2", 1))  # "the right page is …"

    ratings = gather_ratings(store)

    assert not by_text(ratings, "what is a bosun?").unshown
    assert by_text(ratings, "who runs the slipway 0?").unshown
    # One replied, two left unanswered: the replied one counts for all three when judging.
    assert ratings.judging_weights() == {"who runs the slipway 0": 3.0}


def test_votes_are_aggregated_across_people_and_repeated_questions(store):
    first = ask(store, "What is a bosun?", ["glossary/bosun"], user="U1")
    again = ask(store, "what is a  bosun", ["glossary/bosun"], user="U2")
    store.record_vote(Vote(first, "glossary/bosun", "U1", 1))
    store.record_vote(Vote(again, "glossary/bosun", "U2", 1))

    ratings = gather_ratings(store)
    assert len(ratings.questions) == 1
    assert ratings.questions[0].positives == {"glossary/bosun": 2.0}


def test_conflicting_votes_do_not_become_labels(store):
    q1 = ask(store, "who owns the quay?", ["glossary/quay"], user="U1")
    q2 = ask(store, "who owns the quay?", ["glossary/quay"], user="U2")
    store.record_vote(Vote(q1, "glossary/quay", "U1", 1))
    store.record_vote(Vote(q2, "glossary/quay", "U2", -1))

    ratings = gather_ratings(store)
    assert ratings.conflicts == 1
    assert ratings.questions == []


def test_an_alternative_chosen_after_rejecting_the_best_match_makes_the_rest_negatives(store):
    q = ask(store, "how do I pin a version?", ["glossary/quay", "glossary/slipway",
                                                 "glossary/barnacle", "glossary/mooring"])
    store.record_vote(Vote(q, "glossary/quay", "U1", -1))
    store.record_vote(Vote(q, "glossary/mooring", "U1", 1))

    question = by_text(gather_ratings(store), "how do I pin a version?")
    assert question.positives == {"glossary/mooring": 1.0}
    assert question.negatives == {"glossary/quay": 1.0}
    assert question.passed_over == {"glossary/slipway", "glossary/barnacle"}


def test_a_thumbs_up_on_the_best_match_passes_nothing_over(store):
    q = ask(store, "what is the slipway?", ["glossary/slipway", "glossary/quay"])
    store.record_vote(Vote(q, "glossary/slipway", "U1", 1))
    assert by_text(gather_ratings(store), "what is the slipway?").passed_over == set()


def test_one_keen_voter_cannot_dominate(store):
    # Five colleagues rate five questions each; one person rates two hundred.
    for person in range(5):
        for n in range(5):
            q = ask(store, f"colleague {person} question {n}", [f"doc/{person}-{n}"], f"U{person}")
            store.record_vote(Vote(q, f"doc/{person}-{n}", f"U{person}", 1))
    for n in range(200):
        q = ask(store, f"keen question {n}", [f"doc/keen-{n}"], "UKEEN")
        store.record_vote(Vote(q, f"doc/keen-{n}", "UKEEN", 1))

    ratings = gather_ratings(store, voter_cap=20, dominance=5)
    keen = [q for q in ratings.questions if q.text.startswith("keen")]
    others = [q for q in ratings.questions if q.text.startswith("colleague")]
    assert ratings.capped_voters == ["UKEEN"]
    assert len(others) == 25  # nobody else loses anything
    assert 15 <= len(keen) <= 40  # about cap / votes = 25 / 200 of the keen voter's labels
    assert all(w < 1.0 for q in keen for w in q.positives.values())


def test_a_small_team_of_equal_raters_is_not_capped(store):
    for n in range(60):
        user = f"U{n % 3}"
        q = ask(store, f"question {n}", [f"doc/{n}"], user)
        store.record_vote(Vote(q, f"doc/{n}", user, 1))
    ratings = gather_ratings(store)
    assert ratings.capped_voters == [] and ratings.thinned == 0
    assert len(ratings.questions) == 60


def test_held_out_questions_never_reach_training(store):
    for n in range(80):
        q = ask(store, f"what does term number {n} mean?", [f"glossary/t{n}"])
        store.record_vote(Vote(q, f"glossary/t{n}", "U1", 1))
    train, kept_out = gather_ratings(store).split()
    assert kept_out, "about one question in five is held out"
    assert not any(held_out(q.text) for q in train)
    assert all(held_out(q.text) for q in kept_out)
    assert {q.text for q in train}.isdisjoint({q.text for q in kept_out})


def test_a_question_asked_four_ways_falls_on_one_side_of_the_split(store):
    openings = ["what does {} mean?", "quick question: what does {} mean", "anyone know what {} means",
                "{} means what?"]
    for n in range(40):
        for m, opening in enumerate(openings):
            q = ask(store, opening.format(f"codename{n}"), [f"glossary/t{n}"], f"U{m}")
            store.record_vote(Vote(q, f"glossary/t{n}", f"U{m}", 1))
    other = ask(store, "who owns codename0 now?", ["glossary/t0"], "U9")
    store.record_vote(Vote(other, "glossary/t0", "U9", 1))

    train, kept_out = gather_ratings(store).split()

    side = {q.text: q in kept_out for q in [*train, *kept_out]}
    for n in range(40):
        wordings = [opening.format(f"codename{n}") for opening in openings]
        assert len({side[w] for w in wordings}) == 1, wordings
    assert 0 < sum(side.values()) < len(side)
    assert side["who owns codename0 now?"] == held_out("who owns codename0 now?")  # not a rewording


def test_image_questions_are_not_text_training_data(store):
    query_id = store.record_question(AskedQuestion("[image]", user="U1", modality="image"))
    store.record_shown(ShownAnswer(query_id, "diagrams/net", 1, 0.3, "base"))
    store.record_vote(Vote(query_id, "diagrams/net", "U1", 1))
    assert gather_ratings(store).questions == []


def test_glossary_entries_and_faq_headings_become_questions():
    chunks = [
        (Chunk("glossary/bosun", 0, "The bosun approves deploys.", title="Bosun"), {}),
        (Chunk("faq/deploys", 0, "Merge to main, then ship.", title="FAQ: deploys",
               heading="How do I deploy to production?"), {}),
        (Chunk("faq/deploys", 1, "Yes, until 15:00.", title="FAQ: deploys",
               heading="Can I deploy on Friday?"), {}),
        (Chunk("terms/x", 0, "Jargon entry.", title="yak shaving"), {"m.kind": "glossary"}),
        (Chunk("runbooks/a", 0, "Steps.", title="Runbook", heading="Steps"), {}),
    ]
    found = {(q.source, q.text): q for q in index_pairs(chunks)}
    assert found[("glossary", "what is Bosun?")].positives == {"glossary/bosun": 1.0}
    assert found[("glossary", "what is yak shaving?")].positives == {"terms/x": 1.0}
    deploy = found[("faq", "How do I deploy to production?")]
    assert deploy.positives == {"faq/deploys": 1.0} and deploy.chunk_position == 0
    assert found[("faq", "Can I deploy on Friday?")].chunk_position == 1
    assert len(found) == 4


def test_stored_faq_pairs_keep_their_negatives_and_ratings_win_duplicates(store):
    store.add_training_pairs([TrainingPair("faq", "Can I deploy on Friday?", "faq/friday",
                                           ("faq/deploy", "faq/oncall"))])
    q = ask(store, "can I deploy on friday", ["faq/friday"])
    store.record_vote(Vote(q, "faq/friday", "U1", 1))
    faq = stored_pairs(store)
    assert faq[0].negatives == {"faq/deploy": 1.0, "faq/oncall": 1.0}
    merged = merge_sources(gather_ratings(store).questions, faq)
    assert [q.source for q in merged] == ["rating"]


def test_a_cycle_trains_on_ratings_first_and_caps_other_sources():
    rated = [RatedQuestion(f"what is rated thing {n}?", {f"docs/r{n}": 1.0}) for n in range(40)]
    glossary = [RatedQuestion(f"what is term {n}?", {f"glossary/t{n}": 1.0}, source="glossary")
                for n in range(500)]
    synthetic = [RatedQuestion(f"how does widget {n} work?", {f"docs/w{n}": 1.0}, source="synthetic")
                 for n in range(300)]

    chosen = training_set(rated, glossary + synthetic, other_share=1.0, other_min=32)

    sources = Counter(q.source for q in chosen)
    assert chosen[:40] == rated
    assert sources["rating"] + sources["glossary"] + sources["synthetic"] == len(chosen)
    assert 0 < sources["synthetic"] <= 0.2 * len(chosen)
    assert sources["glossary"] + sources["synthetic"] <= 40
    assert not any(held_out(q.text) for q in chosen if q.source != "rating")
    assert chosen == training_set(rated, list(reversed(glossary + synthetic)), other_share=1.0,
                                  other_min=32)  # the sample is stable, whatever the order


def test_synthetic_questions_alone_stay_a_minority():
    rated = [RatedQuestion(f"rated question {n}", {f"docs/r{n}": 1.0}) for n in range(8)]
    synthetic = [RatedQuestion(f"synthetic question {n}", {f"docs/s{n}": 1.0}, source="synthetic")
                 for n in range(100)]

    chosen = training_set(rated, synthetic, other_share=1.0, other_min=32)

    assert [q.source for q in chosen].count("synthetic") == 2  # 2 of 10 = 20 %
