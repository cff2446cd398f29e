"""Reading JSONL: one JSON object per line, each bad line named by file and line number.

Knowledge files, FAQ files and query sets are all JSONL; they differ in the keys they
need, not in how lines are read. `json_lines` yields the non-blank lines, numbered
from 1; `JsonLine.object()` parses one and raises `ValueError` saying what is wrong
with it (without the place: the caller puts `line.where` in front, and decides whether
one bad line stops the file or is listed with the others).

Example:
    >>> for line in json_lines(text, "faq.jsonl"):
    ...     try:
    ...         row = line.object()
    ...     except ValueError as exc:
    ...         raise IngestError(f"{line.where}: {exc}") from None
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line of a JSONL text."""

    label: str
    """The file (or URL) it came from, for messages."""
    number: int
    """1 for the first line of the text, blank lines counted."""
    text: str

    @property
    def where(self) -> str:
        """`file:line`, how every message names the line."""
        return f"{self.label}:{self.number}"

    def object(self, expected: str = "a JSON object") -> dict[str, Any]:
        """The line's JSON object; `ValueError` when it is not JSON or not an object.

        Args:
            expected: what the file wants on a line, for the message, e.g.
                'an object with "question" and "answer"'.
        """
        try:
            row = json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise ValueError(f"expected {expected}")
        return row


def json_lines(text: str, label: str) -> Iterator[JsonLine]:
    """The non-blank lines of `text`, each with its line number."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield JsonLine(label, number, line)
