"""Pictures as questions: an image posted in a DM with the bot, or with a mention.

Slack gets its acknowledgement at once; the download, the checks and the search run
in a lazy listener after it. The picture is downloaded from `url_private_download`
with the bot token (streamed, with a size cap, and only from Slack's own hosts, so
the token never goes anywhere else), checked by its content rather than its name,
decoded safely (engine/images/decoding.py), and answered like a question: the same
threaded messages, each carrying `"modality": "image"` in its metadata, rateable
with the same reactions. The feedback store keeps `image:sha256:<hash>` as the
question, never the picture.

Anything wrong with the picture or its download gets one short reply in the thread;
nothing from it is stored.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from engine.feedback import AskedQuestion
from engine.images.clip import ImagesUnavailable
from engine.images.decoding import MAX_IMAGE_BYTES, ImageRejected, decode_image, size_text
from handlers.answers import ANSWERS_SHOWN, post_answers, worth_showing
from handlers.context import services_in
from handlers.failures import reported
from handlers.messages import acknowledge, carries_images, claim_message, from_a_person, thread_reply

log = logging.getLogger("argot.handlers")

MAX_DOWNLOAD_BYTES = MAX_IMAGE_BYTES
DOWNLOAD_TIMEOUT = 20.0
SLACK_FILE_HOSTS = ("slack.com", "slack-edge.com", "slack-files.com")

IMAGES_OFF = ("Image search is not available on this Argot (no image model is loaded), "
              "so I can't search with pictures. Ask me in words instead.")
SEVERAL_IMAGES = "(You posted {count} images; I searched with the first one.)"


class DownloadFailed(Exception):
    """The picture could not be fetched from Slack; the message is for the person."""


def register(app: App) -> None:
    app.event("app_mention", matchers=[is_image_question])(ack=acknowledge, lazy=[answer_image])
    app.event("message", matchers=[is_direct_image])(ack=acknowledge, lazy=[answer_image])


def is_image_question(event: dict[str, Any]) -> bool:
    return from_a_person(event) and carries_images(event)


def is_direct_image(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im" and is_image_question(event)


def image_files(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in event.get("files") or () if str(f.get("mimetype", "")).startswith("image/")]


def answer_image(body: dict[str, Any], event: dict[str, Any], context: BoltContext,
                 client: WebClient) -> None:
    """Lazy listener: search with the first image of the message, answer in its thread."""
    services = services_in(context)
    channel = event["channel"]
    thread_ts = event.get("thread_ts") or event["ts"]
    reply = thread_reply(client, event)

    with reported(reply, "answering an image"):
        feedback = services.feedback
        if not claim_message(feedback, body, event):
            return
        images = services.images
        if not images.available():
            reply(IMAGES_OFF)
            return
        files = image_files(event)
        try:
            data = download(file_details(client, files[0]), context.bot_token or client.token or "",
                            allowed_hosts(client.base_url))
            picture = decode_image(data, max_bytes=MAX_DOWNLOAD_BYTES)
            answer = images.search(picture, ANSWERS_SHOWN, channel=channel)
        except (DownloadFailed, ImageRejected) as exc:
            log.info("image from %s in %s refused: %s", event.get("user"), channel, exc)
            reply(str(exc))
            return
        except ImagesUnavailable:
            reply(IMAGES_OFF)
            return
        question = AskedQuestion(text=answer.question, user=event["user"], channel=channel,
                                 thread_ts=thread_ts, modality="image")
        post_answers(client, feedback, question, worth_showing(answer.hits),
                     ranked_by=answer.model_id)
        if len(files) > 1:
            reply(SEVERAL_IMAGES.format(count=len(files)))


def file_details(client: WebClient, file: dict[str, Any]) -> dict[str, Any]:
    """The file object with its download URL; events sometimes carry only the id."""
    if file.get("url_private_download") or file.get("url_private"):
        return file
    if not file.get("id"):
        raise DownloadFailed("I could not find the image's download link.")
    return dict(client.files_info(file=file["id"])["file"])


def allowed_hosts(api_url: str) -> tuple[str, ...]:
    """Slack's file hosts, plus the host the Web API client talks to (SLACK_API_URL: a
    proxy, or the emulator)."""
    own = urlsplit(api_url).hostname
    return (*SLACK_FILE_HOSTS, own) if own else SLACK_FILE_HOSTS


def host_allowed(url: str, hosts: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


def download(file: dict[str, Any], token: str, hosts: tuple[str, ...], *,
             max_bytes: int | None = None, timeout: float = DOWNLOAD_TIMEOUT) -> bytes:
    """The file's bytes, streamed with the bot token; `DownloadFailed` otherwise.

    The declared size and the Content-Length are checked before reading, and the
    stream is cut as soon as it passes the cap. A web page instead of bytes (what
    Slack answers when the token may not read the file) is a failure, not an image.
    """
    from engine.knowledge.web import FetchFailed, FetchRefused, HostPolicy, fetch

    cap = MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    too_big = DownloadFailed(f"The image is larger than {size_text(cap)}; post a smaller one.")
    if int(file.get("size") or 0) > cap:
        raise too_big
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    # https to Slack's file hosts only; the host of SLACK_API_URL (a proxy, the emulator)
    # is the operator's own configuration and may be plain http on a private address.
    policy = HostPolicy(hosts=hosts, https_only=True,
                        trusted=tuple(h for h in hosts if h not in SLACK_FILE_HOSTS))
    try:
        got = fetch(url, policy, max_bytes=cap, deadline_s=timeout,
                    headers={"Authorization": f"Bearer {token}"})
    except FetchRefused:
        log.warning("refusing to send the bot token to %s", urlsplit(url).hostname or url[:40])
        raise DownloadFailed("I could not download the image from Slack.") from None
    except FetchFailed as exc:
        if "larger than" in str(exc):
            raise too_big from None
        log.warning("image download failed: %s", exc)
        raise DownloadFailed("I could not download the image from Slack. Please try "
                             "again.") from None
    if got.status != 200:
        log.warning("image download answered HTTP %s", got.status)
        raise DownloadFailed(f"I could not download the image from Slack (HTTP "
                             f"{got.status}). Please try again.")
    if got.content_type in ("text/html", "application/xhtml+xml"):
        log.warning("image download answered a web page; does the app have files:read?")
        raise DownloadFailed("Slack answered a web page instead of the image, so I "
                             "could not read it. Please try again in a minute.")
    return got.body

