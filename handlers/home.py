"""The App Home tab, and answering the questions nobody could answer from it.

Opening the Home tab (`app_home_opened`) publishes (`views.publish`) what Argot knows
(documents by source, glossary size), the active model and its last learning report,
the person's own recent questions, and the questions nobody could answer (everything
shown got 👎, or nothing was found), each with an "Answer it" button. The button opens a
modal (`views.open`) for a definition or the link (or id) of the right page. A link
follows the right-page rule: an indexed page, or a new page from an allowed host
(`ARGOT_INGEST_HOSTS`), fetched safely. The answer is recorded as a 👍 by the person who
gave it for that question, which takes it off the list.

Only questions asked in public channels are listed for everyone; a person also sees
their own. The modal is checked when submitted (empty, or a link from a host that is not
allowed, keeps it open with the reason); fetching a page happens after it closes, and
the person is told the outcome in a DM.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import AskedQuestion, Vote
from engine.knowledge.gaps import answer_document, recent_questions, unanswered
from engine.knowledge.inventory import inventory, last_cycle
from engine.knowledge.rightpage import host_allowed, links_in, looks_like_an_id, named_document
from handlers import homeview
from handlers.blocks import escape
from handlers.channels import is_private
from handlers.context import services_in
from handlers.failures import reported
from handlers.rightpage import resolve_reply

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("argot.handlers")

GAPS_SHOWN = 10
RECENT_SHOWN = 5


def register(app: App) -> None:
    app.event("app_home_opened")(ack=acknowledge, lazy=[publish_home])
    app.action(homeview.ANSWER_ACTION)(open_answer_form)
    app.view(homeview.ANSWER_MODAL)(ack=check_answer, lazy=[record_answer])


def acknowledge(ack: Any) -> None:
    ack()


# -- the Home tab ---------------------------------------------------------------------------

def publish_home(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Lazy listener for app_home_opened (the Home tab, not the Messages tab)."""
    if event.get("tab", "home") != "home":
        return
    with reported(lambda text: log.warning("Home tab for %s: %s", event.get("user"), text),
                  "publishing the Home tab"):
        publish(client, services_in(context), event["user"])


def publish(client: WebClient, services: Services, user: str) -> None:
    view = home_for(client, services, user)
    client.views_publish(user_id=user, view=view)


def home_for(client: WebClient, services: Services, user: str) -> dict[str, Any]:
    feedback = services.feedback
    active = services.active_version()
    return homeview.home_view(
        known=inventory(services.index(active)), active=active.name, cycle=last_cycle(feedback),
        recent=recent_questions(feedback, user, RECENT_SHOWN),
        gaps=visible_gaps(client, services, user))


def visible_gaps(client: WebClient, services: Services, user: str) -> list[Any]:
    """Unanswered questions from public channels, and the person's own from anywhere."""
    privacy: dict[str, bool] = {}

    def public(channel: str) -> bool:
        if channel not in privacy:
            privacy[channel] = bool(channel) and not is_private(client, channel)
        return privacy[channel]

    gaps = unanswered(services.feedback, limit=GAPS_SHOWN * 5)
    return [g for g in gaps if g.user == user or public(g.channel)][:GAPS_SHOWN]


# -- answering a gap -------------------------------------------------------------------------

def open_answer_form(ack: Any, body: dict[str, Any], context: BoltContext, client: WebClient
                     ) -> None:
    """The "Answer it" button: open the modal at once (a trigger lasts three seconds)."""
    ack()
    query_id = body["actions"][0]["value"]
    question = services_in(context).feedback.question(query_id)
    if question is None:
        return
    client.views_open(trigger_id=body["trigger_id"],
                      view=homeview.answer_modal(question.text, query_id))


def check_answer(ack: Any, view: dict[str, Any], context: BoltContext) -> None:
    """Keep the modal open with the reason when the answer cannot be used as given."""
    definition, link = homeview.submitted(view)
    problem = answer_problem(services_in(context), definition, link,
                             view.get("private_metadata", ""))
    if problem:
        ack(response_action="errors", errors={problem[0]: problem[1]})
    else:
        ack()


def answer_problem(services: Services, definition: str, link: str, query_id: str
                   ) -> tuple[str, str] | None:
    """(block id, reason) when the form cannot be accepted, else None."""
    if not definition and not link:
        return homeview.DEFINITION_BLOCK, "Type the answer, or give the link of the right page."
    if not link:
        return None
    question = services.feedback.question(query_id)
    channel = question.channel if question else ""
    if named_document(services.index(), link, channel):
        return None
    links = links_in(link)
    if links and not host_allowed(links[0], tuple(services.settings.ingest_hosts)):
        return homeview.LINK_BLOCK, ("Argot may not read pages from that site (an admin can "
                                     "allow it with ARGOT_INGEST_HOSTS).")
    if not links and looks_like_an_id(link):
        return homeview.LINK_BLOCK, "I don't know a page by that id."
    if not links:
        return homeview.LINK_BLOCK, "Give a link (https://…) or the id of an indexed page."
    return None


def record_answer(body: dict[str, Any], view: dict[str, Any], context: BoltContext,
                  client: WebClient) -> None:
    """Lazy listener: store the answer as the question's positive and tell the person."""
    services = services_in(context)
    user = body["user"]["id"]

    def tell(text: str) -> None:  # a user id as channel: the app's DM with that person
        client.chat_postMessage(channel=user, text=text)

    with reported(tell, "recording an answer from the Home tab"):
        question = services.feedback.question(view.get("private_metadata", ""))
        if question is None:
            tell("That question is no longer on record, so nothing was saved.")
            return
        definition, link = homeview.submitted(view)
        outcome = answer_with(services, client, question, user, definition, link)
        if isinstance(outcome, str):
            tell(outcome)
            return
        doc_id, title = outcome
        services.feedback.record_vote(Vote(question.query_id, doc_id, user, 1))
        log.info("%s answered %s from the Home tab with %s", user, question.query_id, doc_id)
        tell(f"Thanks! *{escape(title)}* is now the answer to “{escape(question.text[:150])}”.")
        if question.thread_ts and question.channel:
            client.chat_postMessage(channel=question.channel, thread_ts=question.thread_ts,
                                    text=f"<@{user}> answered this: *{escape(title)}*.")
        publish(client, services, user)


def answer_with(services: Services, client: WebClient, question: AskedQuestion, user: str,
                definition: str, link: str) -> tuple[str, str] | str:
    """(doc id, title) of the answer, stored if new; or a sentence saying why not."""
    if link:
        outcome = resolve_reply(services, client, link, question.channel)
        return outcome if outcome is not None else "Give a link or the id of an indexed page."
    private = bool(question.channel) and is_private(client, question.channel)
    try:
        document = answer_document(question.text, definition, query_id=question.query_id,
                                   author=user, channel=question.channel, private=private)
    except ValueError as exc:
        return str(exc)
    services.ingestor().ingest([document])
    return document.doc_id, document.title
