"""Markdown headings, read one way by chunking, FAQ import, titles and image context."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.images.links import markdown_images
from engine.knowledge.chunking import sections
from engine.knowledge.faq import parse_markdown as faq_pairs
from engine.knowledge.markdown import Heading, heading, headings, title
from engine.knowledge.sources import parse_markdown

RUNBOOK = """# Restarting the broker

Page the bosun first.

{fence}sh
# stop the broker
systemctl stop chinook
## not a section either
{fence}

## Afterwards

Check the dead letter queue.
"""


@pytest.mark.parametrize("fence", ["```", "~~~", "````", "~~~~~"])
def test_a_comment_in_a_code_block_is_not_a_heading(fence: str) -> None:
    text = RUNBOOK.format(fence=fence)
    assert headings(text) == [Heading(1, "Restarting the broker"), Heading(2, "Afterwards")]
    parts = dict(sections(text, "Restarting the broker"))
    assert "# stop the broker" in parts[""] and "systemctl stop chinook" in parts[""]
    assert parts["Afterwards"] == "Check the dead letter queue."


@pytest.mark.parametrize("outer, inner", [("```", "~~~"), ("~~~", "```"), ("````", "```")])
def test_a_fence_closes_only_with_its_own_kind(outer: str, inner: str) -> None:
    text = f"# Title\n\n{outer}md\n{inner}\n# still code\n{inner}\n{outer}\n\n## Real\n\ntext\n"
    assert [h.text for h in headings(text)] == ["Title", "Real"]


def test_a_fence_with_text_after_it_does_not_close_the_block() -> None:
    text = "```\n``` not a close\n# code\n```\n# Title\n"
    assert [h.text for h in headings(text)] == ["Title"]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert headings("# Title\n~~~\n# code\n## code too\n") == [Heading(1, "Title")]


def test_heading_lines_follow_atx_rules() -> None:
    assert heading("## Deploys ##") == Heading(2, "Deploys")
    assert heading("# C#") == Heading(1, "C#")
    assert heading("   ### Indented a little") == Heading(3, "Indented a little")
    assert heading("#hashtag") is None and heading("####### seven") is None and heading("#") is None


def test_the_title_is_the_first_level_one_heading_outside_code() -> None:
    text = "```\n# not the title\n```\n\n## Overview\n\n# Chinook\n"
    assert title(text) == "Chinook"
    assert parse_markdown(text, "services/chinook", "kb.md", fallback_title="chinook").title == "Chinook"
    assert parse_markdown("no heading", "x", "x.md", fallback_title="fallback").title == "fallback"


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_faq_questions_in_code_blocks_are_code(fence: str) -> None:
    text = (f"## How do I restart the broker?\n\nLike this:\n\n{fence}\n# why is it down?\n"
            f"systemctl restart chinook\n{fence}\n\n## Who owns it?\n\nThe platform team.\n")
    pairs = [(question, answer) for question, answer, *_ in faq_pairs(text, "faq.md")]
    assert [question for question, _ in pairs] == ["How do I restart the broker?", "Who owns it?"]
    assert "# why is it down?" in pairs[0][1]


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_an_image_takes_the_section_heading_not_a_code_comment(tmp_path: Path, fence: str) -> None:
    (tmp_path / "flow.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    text = (f"# Ingest\n\n## Pipeline\n\n{fence}sh\n# run it\n\nmake ingest\n{fence}\n\n"
            "The pipeline reads every source once.\n\n![the flow](flow.png)\n")
    [ref] = markdown_images(text, tmp_path)
    assert ref.heading == "Pipeline"
    assert "the flow" in ref.context and "reads every source once" in ref.context
