"""The "Save to Argot" message shortcut (`callback_id` `argot_save`).

On any message, it makes the message and its whole thread (`conversations.replies`,
every page) one document: titled by its first line, its source the thread's permalink
(`chat.getPermalink`), the author and the person who saved it credited. Saved in a
private channel, a group DM or a DM, the document is visible only there. Saving the
same thread again updates the one document. The person gets an ephemeral note saying
what was saved, or why nothing was: a bot's message, an empty message, a thread over
the size cap, a conversation the bot cannot read. Nothing is stored in those cases.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slackread import permalink, thread_messages
from engine.knowledge.threads import ThreadError, thread_document
from engine.types import Document
from handlers.blocks import escape
from handlers.channels import is_private
from handlers.context import services_in
from handlers.failures import reported

log = logging.getLogger("argot.handlers")

CALLBACK_ID = "argot_save"
BOT_MESSAGE = ("I can't save a bot's message (mine included). Save the message of the "
               "person who explains it; its whole thread comes with it.")
CANNOT_READ = ("I can't read this conversation, so I saved nothing. Invite me first "
               "(`/invite @Argot`), then use *Save to Argot* again.")
UNREADABLE = {"not_in_channel", "channel_not_found", "missing_scope", "thread_not_found",
              "message_not_found", "access_denied"}


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(ack=acknowledge, lazy=[save_thread])


def acknowledge(ack: Any) -> None:
    ack()


def save_thread(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Any
                ) -> None:
    """Lazy listener: store the thread as one document and tell the saver what was saved."""
    services = services_in(context)

    def tell(text: str) -> None:
        respond(text=text, response_type="ephemeral", replace_original=False)

    with reported(tell, "saving a thread"):
        message = body.get("message") or {}
        channel, saver = body["channel"]["id"], body["user"]["id"]
        if message.get("bot_id") or message.get("user") in (None, context.bot_user_id):
            tell(BOT_MESSAGE)
            return
        root_ts = str(message.get("thread_ts") or message["ts"])
        try:
            thread = thread_messages(client, channel, root_ts)
            link = permalink(client, channel, root_ts)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error not in UNREADABLE:
                raise
            log.info("cannot save from %s: %s", channel, error)
            tell(CANNOT_READ)
            return
        private = is_private(client, channel)
        try:
            document = thread_document(thread, channel=channel, permalink=link, private=private,
                                       saved_by=saver)
        except ThreadError as exc:
            tell(str(exc))
            return
        report = services.ingestor().ingest([document])
        updated = document.doc_id in report.updated or document.doc_id in report.unchanged
        log.info("%s saved %s (%s)", saver, document.doc_id, "updated" if updated else "new")
        tell(saved(document, updated=updated, private=private))


def saved(document: Document, *, updated: bool, private: bool) -> str:
    """The saver's confirmation: what was saved, where it can be found, its source."""
    count = int(document.metadata.get("messages", 1))
    what = f"{count} message{'s' if count != 1 else ''}"
    verb = "Updated" if updated else "Saved"
    where = ("Only people in this conversation will see it in answers." if private
             else "Everyone can find it.")
    author = document.metadata.get("author", "")
    return (f"{verb} *{escape(document.title)}* ({what}, started by <@{author}>) in Argot. "
            f"{where} Source: <{document.url}|the thread>.")
