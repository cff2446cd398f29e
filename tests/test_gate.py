"""The gate promotes only on evidence: enough held-out questions and a gain noise cannot explain."""

from __future__ import annotations

from engine.evaluation.metrics import RankingScores
from engine.learning.gate import judge, paired_bootstrap


def scores(ndcg: float, queries: int) -> RankingScores:
    return RankingScores(ndcg, ndcg, ndcg, ndcg, ndcg, queries)


def test_a_slice_too_small_to_judge_is_refused_with_the_reason():
    verdict = judge(scores(0.50, 14), scores(0.90, 14), margin=0.01, min_questions=20)

    assert verdict.decision == "rejected"
    assert verdict.reason.startswith("not enough held-out questions yet: 14, 20 are needed")


def test_a_clear_gain_on_many_questions_is_promoted_with_its_confidence_bound():
    active = [0.3] * 30
    candidate = [1.0] * 20 + [0.3] * 10
    evidence = paired_bootstrap(active, candidate)

    verdict = judge(scores(0.30, 30), scores(0.77, 30), margin=0.01, evidence=evidence,
                    min_questions=20)

    assert evidence.low > 0.3 and evidence.better == 20 and evidence.worse == 0
    assert verdict.decision == "promoted"
    assert "20 better, 0 worse" in verdict.reason


def test_the_reason_says_what_the_judging_questions_are_made_of():
    verdict = judge(scores(0.749, 285), scores(0.753, 285), margin=0.01, min_questions=20,
                    made_of="46 held out, 239 cross-checked; the model cross-fitted on 239")

    assert verdict.reason == ("held-out nDCG@10 0.749 → 0.753 (+0.004) on 285 questions (46 held "
                              "out, 239 cross-checked; the model cross-fitted on 239): not better "
                              "than the active model by the required +0.010")


def test_a_mean_gain_that_rests_on_one_lucky_question_is_rejected_as_noise():
    # 24 questions: one jumps from 0 to 1, two get a little worse: the mean rises by 0.03.
    active = [0.5] * 21 + [0.0, 0.6, 0.6]
    candidate = [0.5] * 21 + [1.0, 0.4, 0.4]
    evidence = paired_bootstrap(active, candidate)

    verdict = judge(scores(0.50, 24), scores(0.52, 24), margin=0.01, evidence=evidence,
                    min_questions=20)

    assert evidence.gain > 0.01 and evidence.low <= 0
    assert verdict.decision == "rejected"
    assert "could be noise" in verdict.reason


def test_the_bootstrap_is_the_same_on_every_run():
    active, candidate = [0.1, 0.5, 0.9, 0.2] * 6, [0.3, 0.4, 1.0, 0.2] * 6

    assert paired_bootstrap(active, candidate) == paired_bootstrap(active, candidate)


def test_four_wordings_of_one_question_are_one_draw_not_four():
    # Three questions, each asked four ways: one improved a lot, two stayed. Counted as
    # twelve independent questions the gain looks sure; as three, it could be luck.
    active = [0.5] * 12
    candidate = [1.0] * 4 + [0.5] * 8
    wordings = [f"q{n // 4}" for n in range(12)]

    as_twelve = paired_bootstrap(active, candidate)
    as_three = paired_bootstrap(active, candidate, clusters=wordings)

    assert as_twelve.gain == as_three.gain
    assert as_twelve.low > 0
    assert as_three.low <= 0
    assert (as_twelve.groups, as_three.groups) == (12, 3)


def test_a_question_counting_for_two_weighs_twice_in_the_gain():
    # The second question's page was named in a reply: it stands for itself and for a
    # missed question nobody replied to.
    active, candidate = [1.0, 0.0], [0.5, 1.0]

    assert paired_bootstrap(active, candidate).gain == 0.25
    assert paired_bootstrap(active, candidate, weights=[1.0, 2.0]).gain == 0.5
    assert paired_bootstrap(active * 10, candidate * 10, weights=[1.0, 2.0] * 10).low > \
        paired_bootstrap(active * 10, candidate * 10).low
