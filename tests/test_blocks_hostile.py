"""Hostile document text and urls in answers: no ping, no spoofed link, no leaked secret."""

from __future__ import annotations

import json
import re

import pytest

from engine.types import Hit
from handlers import blocks

PINGS = "<!channel> <!here> <!everyone> <@U0ADMIN> <!subteam^S0ONCALL|@oncall> <https://evil.example|docs>"
CONTROL = re.compile(r"<([^<>]*)>")


def slack_sequences(message: dict) -> list[str]:
    """Every `<...>` Slack would act on, in the text and all the blocks."""
    return CONTROL.findall(json.dumps(message, ensure_ascii=False))


def hostile(url: str = "") -> Hit:
    return Hit(doc_id="notes/<!channel>", title=f"Payroll {PINGS}", score=0.9,
               text=f"Call everyone now {PINGS} & panic", url=url, source="kb/<!here>.md")


def test_document_text_cannot_ping_or_link_in_an_answer() -> None:
    message = blocks.answer_message(hostile(), 1)
    assert slack_sequences(message) == []
    assert "&lt;!channel&gt;" in message["text"]  # still readable as text


def test_the_notification_text_is_escaped_too() -> None:
    message = blocks.answer_message(hostile(), 1)
    assert "<!here>" not in message["text"] and "<!channel>" not in message["text"]
    private = blocks.private_answer([hostile()], "what is <!channel>?")
    assert slack_sequences(private) == []


def test_a_url_that_breaks_out_of_its_link_gives_no_second_link() -> None:
    message = blocks.answer_message(hostile("https://wiki.example/a>|x<!channel><https://evil.example"), 1)
    [*links] = slack_sequences(message)
    assert links and all(link.startswith("https://wiki.example/a%3E%7Cx%3C!channel%3E") for link in links)
    assert not any(link.startswith(("!", "@")) for link in links)


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,hi",
                                 "slack://open", "file:///etc/passwd", "//evil.example/x"])
def test_a_hostile_url_is_not_linked(url: str) -> None:
    assert slack_sequences(blocks.answer_message(hostile(url), 1)) == []


def test_credentials_and_tokens_in_a_url_are_never_shown() -> None:
    hit = hostile("https://bob:hunter2@wiki.example/page?token=abc123&id=7&api_key=zzz")
    message = blocks.answer_message(hit, 1)
    shown = json.dumps(message)
    assert "hunter2" not in shown and "abc123" not in shown and "zzz" not in shown
    assert "<https://wiki.example/page?id=7|wiki.example/page>" in shown


def test_a_plain_url_still_links() -> None:
    message = blocks.answer_message(Hit("a", "Phoenix", 0.9, "text", url="https://wiki.example/phoenix"), 1)
    assert "<https://wiki.example/phoenix|Phoenix>" in message["blocks"][0]["text"]["text"]
    assert slack_sequences(message)[-1] == "https://wiki.example/phoenix|wiki.example/phoenix"
