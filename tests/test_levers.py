"""The cycle keeps a lever only when held-out questions improve with it, and learns the fusion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from engine.embedders import Kind
from engine.evaluation.corpus import EvalCorpus
from engine.evaluation.metrics import RankingScores
from engine.evaluation.querysets import QuerySet, normalise_question
from engine.learning.expansions import LearningCorpus
from engine.learning.levers import STEP_DOWN_CONFIDENCE, Setting, choose_levers, pick
from engine.learning.sides import Measured, ModelSide
from engine.learning.trainingdata import RatedQuestion
from engine.learning.vocabulary import learn_vocabulary
from engine.search.profile import LearnedProfile
from engine.search.vocabulary import Vocabulary
from tests.fakes import FakeEmbedder
from tests.test_vocabulary import DOCUMENTS, RATED

SLANG_HELD_OUT = QuerySet.from_pairs([
    ("is the tollbooth down", ["wiki/gateway"]),
    ("tollbooth tokens expired", ["wiki/gateway"]),
    ("rolling out a tollbooth change", ["wiki/gateway-deploy"]),
    ("which sparkles are on", ["wiki/flags"]),
    ("delete stale sparkles", ["wiki/flags-cleanup"]),
])
PLAIN_HELD_OUT = QuerySet.from_pairs([
    ("who is paged when production breaks", ["wiki/oncall"]),
    ("where do feature flags live", ["wiki/flags"]),
    ("who owns deploys and the pipeline", ["wiki/owners"]),
])


def side(corpus: EvalCorpus) -> ModelSide:
    embedder = FakeEmbedder()
    return ModelSide("active", embedder, embedder.embed_documents(corpus.texts))


def test_the_learnt_vocabulary_is_kept_when_it_lifts_held_out_slang():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    vocabulary = learn_vocabulary(RATED, LearningCorpus(DOCUMENTS))

    choice = choose_levers(corpus, SLANG_HELD_OUT, side(corpus), None, vocabulary, RATED,
                           LearnedProfile())

    assert choice.setting.vocabulary
    assert choice.chosen.scores.mrr_at_10 > choice.served.scores.mrr_at_10 + 0.2
    assert choice.contributions["vocabulary"] > 0.2
    assert choice.evidence.better >= 2 and choice.evidence.better > choice.evidence.worse
    assert {e.term for e in choice.profile.vocabulary.entries} >= {"tollbooth", "sparkles"}
    assert not choice.not_kept
    # Settings that score the same (memories no question comes close to) are listed once.
    assert len(set(choice.tried.values())) == len(choice.tried) > 1


def test_a_question_whose_page_came_by_reply_counts_for_the_missed_ones_it_stands_for():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    counts = [3.0, 1.0, 1.0, 1.0, 1.0]  # the first one's page was named in a reply
    weights = {normalise_question(SLANG_HELD_OUT.queries[0].query): 3.0}

    choice = choose_levers(corpus, SLANG_HELD_OUT, side(corpus), None,
                           learn_vocabulary(RATED, LearningCorpus(DOCUMENTS)), RATED, LearnedProfile(),
                           question_weights=weights)

    for measured in (choice.served, choice.chosen):
        assert measured.scores.ndcg_at_10 == pytest.approx(np.average(measured.per_question, weights=counts))
    gains = np.subtract(choice.chosen.per_question, choice.served.per_question)
    assert choice.evidence.gain == round(float(np.average(gains, weights=counts)), 4)
    assert choice.as_report()["reply_weight"] == 3.0


def test_nothing_changes_when_no_lever_helps_the_held_out_questions():
    corpus = EvalCorpus.from_texts(DOCUMENTS)

    choice = choose_levers(corpus, PLAIN_HELD_OUT, side(corpus), None,
                           learn_vocabulary(RATED, LearningCorpus(DOCUMENTS)), [], LearnedProfile())

    assert choice.setting == Setting()
    assert choice.chosen.per_question == choice.served.per_question
    assert choice.profile.empty
    assert "tollbooth → api gateway (3 questions)" in choice.as_report()["not_kept"]


def test_fusion_weights_are_chosen_on_held_out_questions_when_one_half_is_better():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    # Dense (bag of words over word buckets) and BM25 agree here except on the order of
    # ties; a served profile that drops BM25 altogether must never be worse than its parts.
    served = LearnedProfile(Vocabulary(), None, {"dense": 0.0, "bm25": 1.0})

    choice = choose_levers(corpus, PLAIN_HELD_OUT, side(corpus), None, Vocabulary(), [], served)

    best_part = max(choice.chosen.scores.ndcg_at_10, choice.served.scores.ndcg_at_10)
    assert choice.chosen.scores.ndcg_at_10 == best_part


def test_every_rated_question_is_cross_checked_with_what_the_other_questions_taught():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    documents = LearningCorpus(DOCUMENTS)
    more = RATED + [RatedQuestion("tollbooth timeouts", {"wiki/gateway": 1.0}),
                    RatedQuestion("sparkles service outage", {"wiki/flags": 1.0})]

    choice = choose_levers(corpus, SLANG_HELD_OUT, side(corpus), None,
                           learn_vocabulary(more, documents), more, LearnedProfile(),
                           learn=lambda questions: learn_vocabulary(questions, documents))

    assert (choice.held_out, choice.cross_checked) == (5, len(more))
    assert choice.evidence.questions == 5 + len(more)
    assert choice.setting.vocabulary and choice.evidence.low > 0


def test_the_report_says_what_was_learnt_and_which_lever_moved_it():
    from engine.learning.report import describe_levers

    lines = describe_levers({"contributions": {"vocabulary": 0.121, "model": 0.034, "fusion": 0.0},
                             "described": "candidate model, vocabulary, dense 1 / bm25 1"},
                            ["tollbooth → api gateway (7 questions)",
                             "sparkles → feature flags (3 questions)"])

    assert lines == [
        "Learnt: tollbooth → api gateway (7 questions); sparkles → feature flags (3 questions)",
        "What moved it (held-out nDCG@10): learnt vocabulary +0.121, fine-tuned model +0.034",
        "Answers with: candidate model, vocabulary, dense 1 / bm25 1"]


def measured(per_question: list[float]) -> Measured:
    mean = float(np.mean(per_question))
    return Measured(RankingScores(mean, mean, 0.0, 0.0, 0.0, len(per_question)), tuple(per_question))


# 20 judging questions in 4 groups of rewordings; today each scores 0.5.
TODAY = measured([0.5] * 20)
GROUPS = [f"group-{n // 5}" for n in range(20)]
# The new model lifts three groups and sinks the fourth: the best mean (+0.2), but a
# resampling that draws the fourth group twice erases the gain.
NOISY = measured([1.0] * 14 + [0.0] * 6)
NEW_MODEL = Setting(model="candidate")
NEW_VOCABULARY = Setting(vocabulary=True)


def test_a_change_keeping_todays_model_is_kept_when_the_new_models_gain_could_be_noise():
    steady = measured([0.6] * 20)  # the vocabulary lifts every question a little

    setting, evidence, passed_over = pick({Setting(): TODAY, NEW_MODEL: NOISY, NEW_VOCABULARY: steady},
                                          TODAY, GROUPS)

    assert setting == NEW_VOCABULARY
    assert evidence.confidence == STEP_DOWN_CONFIDENCE and evidence.low > 0
    assert passed_over["described"] == NEW_MODEL.describe()
    assert passed_over["evidence"]["gain"] == 0.2 and passed_over["evidence"]["low"] <= 0


def test_the_new_model_is_kept_when_its_gain_is_sure_or_nothing_smaller_is():
    steady = measured([0.6] * 20)
    sure = measured([0.8] * 20)
    shaky = measured([0.0] * 7 + [1.0] * 13)  # today's model with the vocabulary: noise too

    assert pick({NEW_MODEL: sure, NEW_VOCABULARY: steady}, TODAY, GROUPS)[0] == NEW_MODEL
    setting, evidence, passed_over = pick({NEW_MODEL: NOISY, NEW_VOCABULARY: shaky}, TODAY, GROUPS)
    assert setting == NEW_MODEL and evidence.low <= 0 and not passed_over  # the gate rejects it


def test_the_report_says_which_setting_was_passed_over_as_noise():
    from engine.learning.report import describe_levers

    lines = describe_levers({"described": "active model, vocabulary, dense 1 / bm25 1",
                             "passed_over": {"described": "candidate model, dense 1 / bm25 1",
                                             "evidence": {"gain": 0.069, "low": -0.044}}}, [])

    assert lines[-1] == ("Passed over: candidate model, dense 1 / bm25 1 (+0.069, but at least "
                         "-0.044: could be noise); today's model kept")


def test_the_report_names_the_glossary_a_cycle_learnt_and_did_not_keep():
    from engine.learning.report import describe_levers

    lines = describe_levers({"described": "candidate model, dense 1 / bm25 1",
                             "not_kept": ["kaboom → watch deck (2 questions)"]}, [])

    assert lines[-1] == ("Learnt but not kept (no better on the questions it never saw; `argot "
                         "glossary reject TERM` stops a wrong one coming back): kaboom → watch deck "
                         "(2 questions)")


def test_a_question_about_a_page_already_rated_is_cross_checked_with_what_the_others_taught():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    documents = LearningCorpus(DOCUMENTS)
    # Three different questions about one page: each must be answered with the vocabulary
    # the other two taught (as a new question about that page will be), not set aside with them.
    one_page = [RatedQuestion("anyone seen the tollbooth today?", {"wiki/gateway": 1.0}),
                RatedQuestion("tollbooth is slow again", {"wiki/gateway": 1.0}),
                RatedQuestion("why did the tollbooth say no", {"wiki/gateway": 1.0})]

    choice = choose_levers(corpus, PLAIN_HELD_OUT, side(corpus), None,
                           learn_vocabulary(one_page, documents), one_page, LearnedProfile(),
                           learn=lambda questions: learn_vocabulary(questions, documents))

    assert choice.cross_checked == 3
    assert choice.setting.vocabulary
    assert choice.evidence.better >= 1 and choice.evidence.worse == 0


class Translating(FakeEmbedder):
    """A model that has learnt what some words mean: it reads them as other words."""

    def __init__(self, meaning: dict[str, str]) -> None:
        super().__init__(model_id="fake-translating")
        self.meaning = meaning

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        def read(text: str) -> str:
            for word, means in self.meaning.items():
                text = text.replace(word, means)
            return text
        return super().embed_batch([read(t) for t in texts], kind)


SLANG = {"tollbooth": "api gateway", "sparkles": "feature flags"}


def halves_side(corpus: EvalCorpus, meaning: dict[str, str]) -> list[tuple[frozenset[str], ModelSide]]:
    """Two cross-fitted halves of RATED, each answered by a model that reads `meaning`."""
    keys = [normalise_question(q.text) for q in RATED]
    embedder = Translating(meaning)
    judge = ModelSide("candidate", embedder, embedder.embed_documents(corpus.texts))
    return [(frozenset(keys[::2]), judge), (frozenset(keys[1::2]), judge)]


def test_the_model_is_judged_on_every_rated_question_by_the_half_that_never_saw_it():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    embedder = Translating(SLANG)
    candidate = ModelSide("candidate", embedder, embedder.embed_documents(corpus.texts))

    def choose(halves: list[tuple[frozenset[str], ModelSide]]) -> Any:
        return choose_levers(corpus, PLAIN_HELD_OUT, side(corpus), candidate, Vocabulary(), RATED,
                             LearnedProfile(), learn=lambda questions: Vocabulary(),
                             halves=halves, memory_threshold=1.01)

    # On plain held-out questions the slang-reading model ties with the active one.
    assert choose([]).setting.model == "active"
    # The halves that learnt the slang lift the rated slang questions they never saw.
    learnt = choose(halves_side(corpus, SLANG))
    assert learnt.cross_fitted == len(RATED)
    assert learnt.setting.model == "candidate" and learnt.evidence.better >= 2
    # Halves that learnt the wrong meaning sink them: the candidate does not get in.
    wrong = choose(halves_side(corpus, {"tollbooth": "cafeteria", "sparkles": "parking"}))
    assert wrong.setting.model == "active"


def test_questions_the_active_version_learnt_from_judge_nothing():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    embedder = Translating(SLANG)
    candidate = ModelSide("candidate", embedder, embedder.embed_documents(corpus.texts))
    learnt_before = frozenset(normalise_question(q.text) for q in RATED)  # today's model saw them

    choice = choose_levers(corpus, PLAIN_HELD_OUT, side(corpus), candidate, Vocabulary(), RATED,
                           LearnedProfile(), learn=lambda questions: Vocabulary(),
                           halves=halves_side(corpus, SLANG), seen=learnt_before,
                           memory_threshold=1.01)

    # Today's model would recall their pages: they judge no lever.
    assert (choice.cross_checked, choice.cross_fitted, choice.left_out) == (0, 0, len(RATED))
    assert choice.evidence.questions == len(PLAIN_HELD_OUT)
    assert choice.setting.model == "active"


def test_questions_in_unfamiliar_words_get_fusion_weights_of_their_own():
    corpus = EvalCorpus.from_texts(DOCUMENTS)
    # Today's model reads the slang (dense finds the page) and misreads "paged" (BM25
    # finds the page): one weighting cannot serve both kinds of question.
    embedder = Translating({"tollbooth": "api gateway", "sparkles": "feature flags",
                            "paged": "cafeteria parking plants menu"})
    active = ModelSide("active", embedder, embedder.embed_documents(corpus.texts))
    gateway = ["wiki/gateway", "wiki/gateway-deploy", "wiki/gateway-limits"]
    flags = ["wiki/flags", "wiki/flags-cleanup"]
    slang = [(f"tollbooth {word}", gateway) for word in ("parking", "plants", "menu", "cafeteria",
                                                         "office", "note")] + \
            [(f"sparkles {word}", flags) for word in ("parking", "plants", "menu", "cafeteria")]
    plain = [(f"who is paged {words}", ["wiki/oncall"]) for words in (
        "", "when production breaks", "for production", "and how to hand over", "in the rotation",
        "on-call", "when it breaks", "and when", "for breaks", "how")]

    def choose(questions: list[tuple[str, list[str]]]) -> Any:
        return choose_levers(corpus, QuerySet.from_pairs(questions), active, None, Vocabulary(), [],
                             LearnedProfile())

    both = choose(slang + plain)
    assert both.unfamiliar == len(slang)
    assert both.setting.unfamiliar == (1.0, 0.0)  # dense alone for the slang
    assert both.setting.bm25 > 0  # BM25 kept for questions in the documents' words
    assert both.profile.unfamiliar_weights == {"dense": 1.0, "bm25": 0.0}
    assert both.chosen.scores.ndcg_at_10 > both.served.scores.ndcg_at_10 + 0.1
    # Too few questions of a kind to choose its weights: it keeps today's (plain RRF).
    few = choose(slang + plain[:3])
    assert (few.setting.dense, few.setting.bm25) == (1.0, 1.0)
    assert few.setting.unfamiliar == (1.0, 0.0)
