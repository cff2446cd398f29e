"""Splitting documents into chunks a model can embed, keeping headings as context."""

from __future__ import annotations

import re

from engine.knowledge import markdown
from engine.knowledge.markdown import Heading
from engine.types import Chunk, Document

MAX_WORDS = 160
"""MiniLM reads 256 word pieces; 160 English words stay under that with the title added."""

def chunk_document(document: Document, max_words: int = MAX_WORDS) -> list[Chunk]:
    """Heading-aware chunks: each Markdown section on its own, long sections split by
    paragraph, over-long paragraphs split by words. Plain text is one section."""
    chunks: list[Chunk] = []
    for heading, body in sections(document.text, document.title):
        for piece in pack_paragraphs(body, max_words):
            chunks.append(Chunk(doc_id=document.doc_id, position=len(chunks), text=piece,
                                title=document.title, source=document.source,
                                url=document.url, heading=heading))
    return chunks


def sections(text: str, title: str) -> list[tuple[str, str]]:
    """(heading path, body) pairs. The heading that repeats the title is dropped; a
    heading inside a code block is code (engine/knowledge/markdown.py)."""
    found: list[tuple[str, str]] = []
    path: list[Heading] = []
    body: list[str] = []

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            names = [h.text for h in path if h.text.strip() != title.strip()]
            found.append((" > ".join(names), text))
        body.clear()

    for line in markdown.lines(text):
        if line.heading is None:
            body.append(line.text)
            continue
        flush()
        path = [h for h in path if h.level < line.heading.level] + [line.heading]
    flush()
    return found


def pack_paragraphs(body: str, max_words: int) -> list[str]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for paragraph in paragraphs:
        words = len(paragraph.split())
        if words > max_words:
            if current:
                pieces.append("\n\n".join(current))
                current, size = [], 0
            pieces.extend(split_words(paragraph, max_words))
            continue
        if size + words > max_words and current:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(paragraph)
        size += words
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def split_words(paragraph: str, max_words: int, overlap: int = 20) -> list[str]:
    words = paragraph.split()
    step = max(1, max_words - overlap)
    return [" ".join(words[start:start + max_words])
            for start in range(0, max(1, len(words) - overlap), step)]
