"""JSONL as every reader takes it: blank lines skipped but counted, each bad line named."""

from __future__ import annotations

import pytest

from engine.knowledge.jsonl import json_lines

TEXT = '{"id": "a"}\n\n   \n{"id": "b"}\n'


def test_lines_keep_their_numbers_in_the_file() -> None:
    lines = list(json_lines(TEXT, "kb/faq.jsonl"))
    assert [(line.where, line.object()["id"]) for line in lines] == [("kb/faq.jsonl:1", "a"),
                                                                    ("kb/faq.jsonl:4", "b")]


@pytest.mark.parametrize("text, says", [("{not json", "not JSON (Expecting property name"),
                                        ('["a list"]', 'expected an object with "question"'),
                                        ("42", 'expected an object with "question"')])
def test_a_bad_line_says_what_is_wrong_with_it(text: str, says: str) -> None:
    [line] = json_lines(f"\n{text}\n", "faq.jsonl")
    with pytest.raises(ValueError, match=says.replace("(", r"\(")):
        line.object('an object with "question" and "answer"')
    assert line.where == "faq.jsonl:2"
