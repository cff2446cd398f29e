"""Markdown's headings, read one way for chunking, FAQs, titles and image context.

A heading is an ATX heading: one to six `#` at the start of a line (up to three spaces
in), a space, the text; a closing run of `#` after a space is not part of the text
(`## Deploys ##` is "Deploys", `# C#` is "C#"). Nothing inside a fenced code block is a
heading, so a shell comment (`# restart the broker`) in a runbook's example never
starts a section. A fence is three or more backticks or tildes (indented or not); it is
closed only by a fence of the same character, at least as long, with nothing after it,
so `~~~` inside a ``` block (or the other way round) is just code. An unclosed fence runs
to the end of the text, as in CommonMark.

Example:
    >>> [h.text for h in headings("# Deploys\\n```sh\\n# not a heading\\n```\\n## Friday")]
    ['Deploys', 'Friday']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Heading:
    level: int
    """1 for `#`, 6 for `######`."""
    text: str


@dataclass(frozen=True)
class Line:
    """One line of a Markdown text, and what it is."""

    number: int
    """1 for the first line."""
    text: str
    heading: Heading | None
    """The heading this line is; None for any other line, and always inside code."""
    in_code: bool
    """Inside a fenced code block, the fences included."""


def heading(line: str) -> Heading | None:
    """The heading a line is on its own (say, outside any code block), else None."""
    match = HEADING.match(line)
    if not match:
        return None
    return Heading(len(match.group(1)), match.group(2).strip())


def lines(text: str) -> Iterator[Line]:
    """Every line of `text`, each with the heading it is (outside code blocks)."""
    fence = ""  # the open fence, "" outside code
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence:
            closes = (match is not None and match.group(1)[0] == fence[0]
                      and len(match.group(1)) >= len(fence) and not match.group(2).strip())
            if closes:
                fence = ""
            yield Line(number, line, None, True)
        elif match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            fence = match.group(1)
            yield Line(number, line, None, True)
        else:
            yield Line(number, line, heading(line), False)


def headings(text: str) -> list[Heading]:
    """The headings of `text` in order, none from inside code blocks."""
    return [line.heading for line in lines(text) if line.heading is not None]


def title(text: str) -> str:
    """The text of the first level-1 heading, or "" when there is none."""
    return next((found.text for found in headings(text) if found.level == 1), "")


def paragraphs(text: str) -> list[list[Line]]:
    """Runs of non-blank lines, as blank lines separate them."""
    found: list[list[Line]] = []
    current: list[Line] = []
    for line in lines(text):
        if line.text.strip():
            current.append(line)
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found
