"""handlers/blocks.py: what every answer message looks like."""

from __future__ import annotations

from engine.types import Hit
from handlers import blocks
from handlers.answers import worth_showing

HIT = Hit("services/phoenix", "Project <Phoenix>", 0.8123456789,
          "# Phoenix\n\nProject Phoenix is the rewrite & <@U1> of billing. " + "word " * 200,
          url="https://wiki.example/phoenix", source="kb/phoenix.md")


def test_answer_message_has_title_link_excerpt_and_source() -> None:
    message = blocks.answer_message(HIT, 1)
    section = message["blocks"][0]["text"]["text"]
    assert section.startswith("*<https://wiki.example/phoenix|Project &lt;Phoenix&gt;>*\n")
    assert "&amp; &lt;@U1&gt;" in section  # document text never pings anyone
    assert len(section) < 400 and section.endswith("…")
    context = message["blocks"][1]["elements"][0]["text"]
    assert context.startswith("Best match · <https://wiki.example/phoenix|wiki.example/phoenix>")
    assert message["text"].startswith("Best match: Project &lt;Phoenix&gt;")  # escaped too


def test_labels_for_lower_ranks_and_alternatives() -> None:
    assert blocks.answer_message(HIT, 2)["text"].startswith("Also relevant (#2)")
    assert blocks.answer_message(HIT, 4, alternative=True)["text"].startswith(
        "Another candidate (#4)")


def test_source_without_url_keeps_author_mentions_only() -> None:
    defined = Hit("defined/gtq", "GTQ", 1.0, "GTQ: queue", source="defined by <@U7> <b>")
    assert blocks.source_text(defined) == "defined by <@U7> &lt;b&gt;"
    assert blocks.source_text(Hit("a/b", "", 1.0, "x")) == "`a/b`"


def test_metadata_is_the_argot_answer_event() -> None:
    assert blocks.answer_metadata("q1", HIT, 1, "base") == {
        "event_type": "argot_answer",
        "event_payload": {"query_id": "q1", "doc_id": "services/phoenix", "rank": 1,
                          "score": 0.812346, "model_version": "base"}}
    image = blocks.answer_metadata("q1", HIT, 2, "clip-1", modality="image")
    assert image["event_payload"]["modality"] == "image"


def test_private_answer_lists_every_hit() -> None:
    answer = blocks.private_answer([HIT, HIT], "what is phoenix?")
    assert answer["response_type"] == "ephemeral"
    assert sum(b["type"] == "section" for b in answer["blocks"]) == 2
    assert blocks.private_answer([], "x")["text"] == blocks.NO_MATCH


def test_only_answers_close_to_the_best_are_shown() -> None:
    hits = [Hit(f"d{i}", "", score, "") for i, score in enumerate([1.0, 0.95, 0.49])]
    assert [h.doc_id for h in worth_showing(hits)] == ["d0", "d1"]
    assert worth_showing([]) == []
