"""Searching for a question's documents, by the question's modality.

Each search returns the hits and what ranked them (`ShownAnswer.ranked_by`): the text
model's registry name, or the CLIP model's `model_id` for a picture. `search_more` is
how a 👎 finds further candidates for a question of either kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.feedback import AskedQuestion
from engine.types import Hit

if TYPE_CHECKING:
    from bot.services import Services


def search_text(services: Services, question: AskedQuestion, exclude: list[str], k: int
                ) -> tuple[list[Hit], str]:
    """The question's best documents and the registry name of the model that ranked them,
    the active version read once so that a learning cycle switching versions in between
    cannot mislabel the answer."""
    version = services.active_version()
    return services.retriever(version).search(question.text, k, channel=question.channel,
                                              exclude=exclude), version.name


def search_image_again(services: Services, question: AskedQuestion, exclude: list[str], k: int
                       ) -> tuple[list[Hit], str]:
    """More documents for a picture, while this process still remembers it ([] otherwise),
    and the CLIP model's `model_id`."""
    hits = services.images.search_again(question.text, k, channel=question.channel,
                                        exclude=exclude)
    return hits, services.images.model_id if hits else ""


def search_more(services: Services, question: AskedQuestion, exclude: list[str], k: int
                ) -> tuple[list[Hit], str]:
    """Up to `k` documents for `question` not in `exclude`, searched the way its modality
    is ("text" or "image"); no hits for a modality Argot does not know."""
    if question.modality == "image":
        return search_image_again(services, question, exclude, k)
    if question.modality == "text":
        return search_text(services, question, exclude, k)
    return [], ""
