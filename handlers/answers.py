"""Answering in a thread: one message per document, each one rateable.

`post_answers` is the one way any surface (text questions here, images in
handlers/images.py) shows documents: it records the question, posts each hit as its
own threaded message carrying the `argot_answer` metadata, and records what was shown
with the message's ts, so a reaction on that message can be traced back to it.

Tip:
    A surface searches however it likes (handlers/searches.py) and passes the hits
    and what ranked them; the question's `modality` ("text", "image") goes into the
    metadata and the feedback store, and picks how a 👎 searches for more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from engine.feedback import AskedQuestion, FeedbackStore, ShownAnswer
from engine.types import Hit
from handlers import blocks
from handlers.searches import search_more

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("argot.handlers")

ANSWERS_SHOWN = 3
"""Documents shown for a new question: the best match first, then the next ones."""
ALTERNATIVES = 3
"""Further candidates posted after a 👎 on the best match."""
RELATIVE_FLOOR = 0.6
"""Below the best match, a document is shown only if it scores at least this share of
the best score. With hybrid retrieval that keeps documents both rankings agree on and
drops those only one of them found (at most half the best fused score)."""

def post_answers(client: WebClient, feedback: FeedbackStore, question: AskedQuestion,
                 hits: Sequence[Hit], *, ranked_by: str, recorded: bool = False
                 ) -> list[ShownAnswer]:
    """Record `question` and answer it in `question.thread_ts`, one message per hit.

    Args:
        client: the bot's Web API client.
        feedback: where the question and what was shown are recorded.
        question: channel, thread and modality of the answers; its `query_id` goes
            into every message's metadata.
        hits: the documents, best first (none: the bot says it found nothing).
        ranked_by: the model that ranked them: the text model's registry name, or the
            CLIP model's `model_id` (the metadata's `model_version`).
        recorded: the caller recorded the question already (handlers/questions.py does,
            beside the search), so it is not recorded again.

    Returns:
        What was shown, with each message's ts.
    """
    if not recorded:
        feedback.record_question(question)
    if not hits:
        client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts or None,
                                text=blocks.NO_MATCH)
        return []
    return post_candidates(client, feedback, question, hits, ranked_by=ranked_by)


def post_candidates(client: WebClient, feedback: FeedbackStore, question: AskedQuestion,
                    hits: Sequence[Hit], *, ranked_by: str, first_rank: int = 1,
                    alternative: bool = False) -> list[ShownAnswer]:
    """Post the documents of a question already recorded, ranks counting from `first_rank`."""
    shown = []
    for rank, hit in enumerate(hits, start=first_rank):
        message = blocks.answer_message(hit, rank, alternative=alternative)
        posted = client.chat_postMessage(
            channel=question.channel, thread_ts=question.thread_ts or None,
            metadata=blocks.answer_metadata(question.query_id, hit, rank, ranked_by,
                                            question.modality),
            unfurl_links=False, unfurl_media=False, **message)
        answer = ShownAnswer(question.query_id, hit.doc_id, rank, hit.score, ranked_by,
                             posted["channel"], posted["ts"])
        feedback.record_shown(answer)
        shown.append(answer)
    return shown


def worth_showing(hits: Sequence[Hit]) -> list[Hit]:
    """The best match, and those after it that come close enough to it."""
    if not hits:
        return []
    floor = hits[0].score * RELATIVE_FLOOR
    return [hits[0], *(hit for hit in hits[1:] if hit.score >= floor)]


def post_alternatives(client: WebClient, services: Services, answer: ShownAnswer) -> list[ShownAnswer]:
    """After a 👎 on the best match: up to ALTERNATIVES documents not shown yet, once per
    question however many people vote it down."""
    feedback = services.feedback
    question = feedback.question(answer.query_id)
    if question is None:
        return []
    if not feedback.claim_event(f"alternatives:{question.query_id}"):
        return []
    shown = feedback.shown_for(question.query_id)
    hits, ranked_by = search_more(services, question, [s.doc_id for s in shown], ALTERNATIVES)
    if not hits:
        client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts or None,
                                text=blocks.NO_MORE)
        return []
    first_rank = max(s.rank for s in shown) + 1
    return post_candidates(client, feedback, question, hits, ranked_by=ranked_by,
                           first_rank=first_rank, alternative=True)
