"""Cross-fitting: the candidate is trained in two halves of the rated questions, each half
judged by the model that never saw it, and both halves' lessons added to the base."""

from __future__ import annotations

import torch

from engine.learning.crossfit import MIN_HALF, Half, at_served_strength, combine, halves_of, rare_words
from engine.learning.expansions import LearningCorpus
from engine.learning.training import TrainingResult
from engine.learning.trainingdata import RatedQuestion


def rated(n: int) -> list[RatedQuestion]:
    return [RatedQuestion(f"where does service {i} keep its logs", {f"wiki/service-{i}": 1.0})
            for i in range(n)]


def test_rated_questions_fall_into_two_halves_with_their_rewordings_and_without_pairs():
    rewordings = [RatedQuestion("anyone know who owns the tollbooth?", {"wiki/gateway": 1.0}),
                  RatedQuestion("quick question: who owns the tollbooth", {"wiki/gateway": 1.0})]
    faq = [RatedQuestion("what is a gateway", {"wiki/gateway": 1.0}, source="faq")]

    halves = halves_of(rated(40) + rewordings + faq)

    assert set(halves.values()) == {0, 1}
    assert len(halves) == 42  # the FAQ pair trains both halves; it judges neither
    assert halves["anyone know who owns the tollbooth"] == halves["quick question: who owns the tollbooth"]
    assert min(list(halves.values()).count(h) for h in (0, 1)) >= MIN_HALF


def test_different_questions_about_one_page_are_dealt_to_both_halves():
    asks = ["who owns the {}", "deploying {} to production", "why is {} slow today",
            "where are {} logs kept"]
    names = ["tollbooth", "sparkles", "abacus", "matchmaker", "attic", "firehose"]
    pages = {f"wiki/{name}": [ask.format(name) for ask in asks] for name in names}
    questions = [RatedQuestion(text, {doc: 1.0}) for doc, texts in pages.items() for text in texts]

    halves = halves_of(questions)

    for texts in pages.values():
        assert sorted(halves[t] for t in texts) == [0, 0, 1, 1]


def test_too_few_rated_questions_train_one_model():
    assert halves_of(rated(MIN_HALF)) == {}


def test_the_candidate_is_the_base_plus_both_halves_lessons():
    base, first, second = (torch.nn.Linear(3, 2) for _ in range(3))

    merged = combine([first, second], base.state_dict())

    lesson = (first.weight - base.weight) + (second.weight - base.weight)
    assert torch.allclose(merged.weight, base.weight + lesson)
    assert torch.allclose(merged.bias, first.bias + second.bias - base.bias)
    assert merged is not first and not torch.equal(first.weight, merged.weight)


def test_each_half_judges_at_the_strength_the_candidate_is_served_at():
    base, first, second = (torch.nn.Linear(3, 2) for _ in range(3))
    halves = [Half(TrainingResult(model, 10, 20, None, 1.0), frozenset({key}))
              for model, key in ((first, "a"), (second, "b"))]

    before = first.weight.detach().clone()

    judges = dict(at_served_strength(halves, base.state_dict()))

    # The candidate moves by both lessons: a half's own lesson counts twice when it judges.
    assert torch.allclose(judges[frozenset({"a"})].weight, base.weight + 2 * (first.weight - base.weight))
    assert torch.allclose(judges[frozenset({"b"})].bias, base.bias + 2 * (second.bias - base.bias))
    assert torch.equal(first.weight, before)  # the half itself is untouched


def test_a_weight_the_base_lacks_is_averaged():
    first, second = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)

    merged = combine([first, second], {"weight": torch.zeros(2, 3)})

    assert torch.allclose(merged.weight, first.weight + second.weight)
    assert torch.allclose(merged.bias, (first.bias + second.bias) / 2)


def test_questions_sharing_a_word_the_documents_lack_are_dealt_to_both_halves():
    names = ["tollbooth", "sparkles", "abacus", "matchmaker", "attic", "firehose", "beeper", "yeet"]
    questions = [RatedQuestion(f"who owns the {name} {topic}", {f"wiki/{name}-{topic}": 1.0})
                 for name in names for topic in ("dashboard", "runbook")]
    documents = LearningCorpus({f"wiki/{name}-{topic}": f"the {name} {topic} page"
                                for name in ("gateway", "flags") for topic in ("dashboard", "runbook")})
    rare = rare_words(questions, documents)

    halves = halves_of(questions, rare)

    assert "tollbooth" in rare["who owns the tollbooth dashboard"]
    assert "dashboard" not in rare["who owns the tollbooth dashboard"]
    for name in names:
        assert {halves[f"who owns the {name} dashboard"], halves[f"who owns the {name} runbook"]} == {0, 1}
