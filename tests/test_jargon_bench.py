"""The jargon benchmark's slang: questions are rewritten, documents never contain it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import jargon_slang as slang

REPO = Path(__file__).resolve().parent.parent
DEMO_KB = REPO / "bot" / "demo" / "kb"
SHARED = REPO.parent / "shared" / "data"


def test_a_question_is_rewritten_into_the_teams_slang() -> None:
    text, used = slang.rewrite("What does the API gateway do when a feature flag is off?", slang.DEMO_SLANG)
    assert text == "What does the tollbooth do when a sparkle is off?"
    assert used == ("the tollbooth", "sparkles")


def test_a_replaced_wording_is_never_rewritten_again_and_articles_do_not_double() -> None:
    text, used = slang.rewrite("How do I install Debian packages on the system?", slang.DEBIAN_SLANG)
    assert text == "How do I slot in the swirl parcels on the rig?"
    assert set(used) == {"slot in", "the swirl", "parcels", "the rig"}
    assert slang.rewrite("Is the weather nice?", slang.DEBIAN_SLANG) == ("Is the weather nice?", ())


def test_each_lexicon_has_at_least_30_terms_with_multi_word_ones() -> None:
    for terms in (slang.DEMO_SLANG, slang.DEBIAN_SLANG):
        assert len(terms) >= 30
        assert sum(" " in t.slang for t in terms) >= 10


def test_the_demo_slang_occurs_nowhere_in_the_demo_knowledge_base() -> None:
    texts = [p.read_text(encoding="utf-8") for p in DEMO_KB.rglob("*") if p.is_file()]
    assert slang.absent_from(slang.DEMO_SLANG, texts) == []
    assert slang.absent_from(slang.DEMO_SLANG, [*texts, "ask the tollbooth team"]) == ["the tollbooth"]


@pytest.mark.skipif(not (SHARED / "debian-faq.jsonl").exists(), reason="needs ../shared/data")
def test_the_debian_slang_occurs_nowhere_in_the_debian_faq_or_the_jargon_file() -> None:
    from bench.learning_bench import documents

    texts = [f"{d.title or ''}\n{d.text}" for d in documents()]
    assert slang.absent_from(slang.DEBIAN_SLANG, texts) == []


def test_slang_goes_to_questions_only_and_held_out_questions_are_never_rated() -> None:
    pairs = slang.demo_pairs(REPO / "bot" / "demo" / "questions.jsonl")
    found = slang.questions(pairs, slang.DEMO_SLANG)
    assert all(q.terms and q.slang != q.plain for q in found)
    assert all(q.plain in {" ".join(p.split()) for p, _ in pairs} for q in found)
    split = slang.split(found, held_out_share=0.45, rounds=3, seed="jargon-1")
    rated = [q for r in split.rounds for q in r]
    assert {q.plain for q in rated}.isdisjoint(q.plain for q in split.held_out)
    assert len(rated) + len(split.held_out) == len(found)
    rated_terms = [t for q in rated for t in q.terms]
    assert all(rated_terms.count(t) >= 2 for q in split.held_out for t in q.terms)
    assert split == slang.split(found, held_out_share=0.45, rounds=3, seed="jargon-1")


def test_held_out_slang_is_grouped_by_the_round_that_first_rated_all_its_terms() -> None:
    from bench.jargon_report import learnable_from, learnable_table

    rated = [["sparkles"], ["the tollbooth"], []]
    assert learnable_from(["sparkles"], rated) == 1
    assert learnable_from(["sparkles", "the tollbooth"], rated) == 2
    assert learnable_from(["yeet"], rated) == 4
    corpus = {"rated_terms": rated,
              "held_out_questions": [{"terms": ["sparkles"]}, {"terms": ["the tollbooth"]},
                                     {"terms": ["sparkles", "the tollbooth"]}],
              "rows": [{"name": "base", "reciprocal_ranks": {"hybrid": {"slang": [1.0, 0.0, 0.5]}}}]}
    table = learnable_table(corpus)
    assert "all terms rated by round 1 (1)" in table[0] and "all terms rated by round 2 (2)" in table[0]
    assert table[-1] == "| base | 1.000 | 0.250 |"
