"""Knowledge gaps: the questions nobody could answer, and what they are about.

A question is *unanswered* when nothing found for it was rated 👍 and either nothing was
found at all, or every document shown for it got a 👎. Answering it later (a right-page
reply, the Home tab's form) records a 👍, which takes it off the list. `topics` groups
such questions by meaning, so the people who own the documents see "Nightjar: 7
questions" rather than seven separate lines.

Example:
    >>> gaps = unanswered(store, since=time.time() - 7 * 86400)
    >>> [(t.label, len(t.questions)) for t in topics(gaps, embedder)]
    [('nightjar', 3), ('tollbooth', 2)]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from engine.schema import questions, shown, votes
from engine.types import Document

TOPIC_SIMILARITY = 0.55
"""Cosine similarity to a topic's centre above which a question joins the topic."""
MAX_SCANNED = 2000
WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
COMMON = set("""a an and are as at be but by can do does did for from has have how i if in
into is it its me my of on or our so that the their them there these this those to us was
we were what when where which who whom why will with you your about any anyone know mean
means meaning someone tell please hi hey does doing get got""".split())


@dataclass(frozen=True)
class Gap:
    """A question nobody could answer."""

    query_id: str
    text: str
    user: str
    channel: str
    thread_ts: str
    asked_at: float
    shown: int


@dataclass(frozen=True)
class Recent:
    """One of a person's own questions, with how it went."""

    query_id: str
    text: str
    channel: str
    asked_at: float
    outcome: str
    """"answered" (a 👍), "unanswered" (everything 👎 or nothing found) or "not rated"."""


@dataclass(frozen=True)
class Topic:
    label: str
    questions: tuple[Gap, ...]


def _outcomes(store: Any, query_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """query id → (outcome, documents shown)."""
    shown_docs: dict[str, set[str]] = {q: set() for q in query_ids}
    liked: set[str] = set()
    disliked: dict[str, set[str]] = {q: set() for q in query_ids}
    with store.engine.connect() as conn:
        for start in range(0, len(query_ids), 500):
            part = list(query_ids[start:start + 500])
            for row in conn.execute(select(shown.c.query_id, shown.c.doc_id)
                                    .where(shown.c.query_id.in_(part))):
                shown_docs[row.query_id].add(row.doc_id)
            for row in conn.execute(select(votes.c.query_id, votes.c.doc_id, votes.c.value)
                                    .where(votes.c.query_id.in_(part))):
                if row.value > 0:
                    liked.add(row.query_id)
                else:
                    disliked[row.query_id].add(row.doc_id)
    result = {}
    for query_id in query_ids:
        docs = shown_docs[query_id]
        if query_id in liked:
            outcome = "answered"
        elif not docs or docs <= disliked[query_id]:
            outcome = "unanswered"
        else:
            outcome = "not rated"
        result[query_id] = (outcome, len(docs))
    return result


def unanswered(store: Any, *, since: float = 0.0, limit: int = 50) -> list[Gap]:
    """The newest unanswered text questions asked since `since` (a Unix time)."""
    query = (select(questions).where(questions.c.created_at >= since,
                                     questions.c.modality == "text")
             .order_by(questions.c.created_at.desc()).limit(MAX_SCANNED))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    outcomes = _outcomes(store, [row.query_id for row in rows])
    gaps = [Gap(row.query_id, row.text, row.user, row.channel, row.thread_ts, row.created_at,
                outcomes[row.query_id][1])
            for row in rows if outcomes[row.query_id][0] == "unanswered"]
    return gaps[:limit]


def recent_questions(store: Any, user: str, limit: int = 5) -> list[Recent]:
    """A person's own newest questions, with their outcome."""
    query = (select(questions).where(questions.c.user == user)
             .order_by(questions.c.created_at.desc()).limit(limit))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    outcomes = _outcomes(store, [row.query_id for row in rows])
    return [Recent(row.query_id, row.text, row.channel, row.created_at,
                   outcomes[row.query_id][0]) for row in rows]


def topics(gaps: Sequence[Gap], embed: Any, similarity: float = TOPIC_SIMILARITY) -> list[Topic]:
    """Group questions by meaning, biggest group first.

    Args:
        gaps: the questions.
        embed: texts → unit vectors (an embedder's `embed_documents`, or the embedder).
        similarity: how close to a group's centre a question must be to join it.
    """
    if not gaps:
        return []
    encode = getattr(embed, "embed_documents", embed)
    vectors = np.asarray(encode([gap.text for gap in gaps]), dtype=np.float32)
    centres: list[np.ndarray] = []
    members: list[list[int]] = []
    for row, vector in enumerate(vectors):
        scores = [float(np.dot(vector, centre / (np.linalg.norm(centre) or 1.0)))
                  for centre in centres]
        best = int(np.argmax(scores)) if scores else -1
        if best >= 0 and scores[best] >= similarity:
            centres[best] = centres[best] + vector
            members[best].append(row)
        else:
            centres.append(vector.copy())
            members.append([row])
    groups = [tuple(gaps[i] for i in rows) for rows in members]
    groups.sort(key=lambda group: (-len(group), -max(g.asked_at for g in group)))
    return [Topic(label(group), group) for group in groups]


def label(group: Sequence[Gap], channels: set[str] | None = None) -> str:
    """The word the group's questions share most (ignoring common words); with
    `channels`, only questions asked there count (a private question's words must not
    show up in a digest's labels), "" when none was."""
    if channels is not None:
        group = [gap for gap in group if gap.channel in channels]
        if not group:
            return ""
    counts: Counter[str] = Counter()
    for gap in group:
        counts.update({word.lower() for word in WORD.findall(gap.text)
                       if word.lower() not in COMMON and len(word) > 2})
    if counts:
        return counts.most_common(1)[0][0]
    return " ".join(group[0].text.split()[:5])


MAX_ANSWER_CHARS = 3000


def answer_document(question: str, definition: str, *, query_id: str, author: str,
                    channel: str, private: bool) -> Document:
    """The document for an answer typed into the Home tab's form: titled by the question,
    credited to its author, visible only where the question was asked if that is private.

    Raises:
        ValueError: the answer is empty or longer than MAX_ANSWER_CHARS (the message says so).
    """
    definition = definition.strip()
    if not definition:
        raise ValueError("Type the answer, or give the link of the page that has it.")
    if len(definition) > MAX_ANSWER_CHARS:
        raise ValueError(f"The answer is longer than {MAX_ANSWER_CHARS:,} characters; link to a "
                         "page instead.")
    title = " ".join(question.split())[:120]
    return Document(doc_id=f"answers/{query_id}", title=title, text=f"{title}\n\n{definition}",
                    source=f"answered by <@{author}>",
                    metadata={"kind": "answer", "author": author, "question": query_id},
                    channels=(channel,) if private else None)
