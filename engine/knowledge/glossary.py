"""Glossary entries people add by hand (`/argot define TERM: DEFINITION`).

An entry is an ordinary `Document`, so it is found, rated and learned from like any
other. Entries defined somewhere private carry that one channel in `channels` and are
never shown anywhere else; they also get their own id per channel, so a public
definition of the same term can never overwrite (and so reveal) a private one.

Example:
    >>> entry = glossary_entry("GTQ", "the golden ticket queue", author="U1", channel="G7",
    ...                        private=True)
    >>> entry.doc_id, entry.channels
    ('defined/G7/gtq', ('G7',))
"""

from __future__ import annotations

import hashlib
import re

from engine.errors import ArgotError
from engine.knowledge.ingest import Ingestor, IngestReport
from engine.types import Document

ID_PREFIX = "defined"
MAX_TERM_CHARS = 100
MAX_DEFINITION_CHARS = 3000


class GlossaryError(ArgotError):
    """A definition that cannot be added as given; the message says how to fix it."""


def glossary_entry(term: str, definition: str, *, author: str, channel: str, private: bool,
                   source: str = "") -> Document:
    """The document for one definition, credited to `author`.

    Args:
        term: what is being defined, e.g. "GTQ".
        definition: what it means.
        author: who defined it (a Slack user id); kept as metadata and in `source`.
        channel: where it was defined.
        private: True for a private channel or a DM: the entry is visible only there.
        source: how the answer credits it (default: "defined by AUTHOR").
    """
    term, definition = " ".join(term.split()), definition.strip()
    if not term or not definition:
        raise GlossaryError("Give a term and its definition, e.g. `define GTQ: the golden "
                            "ticket queue`.")
    if len(term) > MAX_TERM_CHARS:
        raise GlossaryError(f"The term is longer than {MAX_TERM_CHARS} characters; put the "
                            "explanation after the colon.")
    if len(definition) > MAX_DEFINITION_CHARS:
        raise GlossaryError(f"The definition is longer than {MAX_DEFINITION_CHARS} characters; "
                            "link to a page instead.")
    slug = term_slug(term)
    return Document(
        doc_id=f"{ID_PREFIX}/{channel}/{slug}" if private else f"{ID_PREFIX}/{slug}",
        title=term,
        text=f"{term}: {definition}",
        source=source or f"defined by {author}",
        metadata={"kind": "glossary", "author": author, "defined_in": channel},
        channels=(channel,) if private else None,
    )


def define(ingestor: Ingestor, entry: Document) -> IngestReport:
    """Add (or replace) one glossary entry in the index."""
    return ingestor.ingest([entry])


def term_slug(term: str) -> str:
    """A stable id part for a term: lower-case words joined by dashes."""
    slug = re.sub(r"[^\w]+", "-", term.lower()).strip("-_")[:80]
    return slug or hashlib.sha1(term.encode()).hexdigest()[:12]
