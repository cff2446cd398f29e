"""Images in Slack, end to end: the real bot in HTTP mode, the Slack emulator, the tiny
CLIP model. A picture posted with a mention or in a DM is downloaded with the bot
token and answered like a question; anything wrong with it gets a short reply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.playground.emulator import BOT_USER_ID, FILE_DOWNLOAD
from bot.services import Services
from engine import feedback as store
from engine.images.decoding import decode_image
from engine.knowledge.sources import collect
from handlers import images as image_handler
from handlers.answers import ALTERNATIVES, ANSWERS_SHOWN, worth_showing
from tests.image_samples import bad_inputs, noisy_png, query_png, shapes_kb
from tests.slackbot import Bot, load_team_kb, payload, running_bot


def load_shapes(services: Services, root: Path) -> None:
    collected = collect([str(shapes_kb(root))])
    services.ingestor().ingest(collected.documents)
    services.images.ingest(collected.documents, collected.images)


@pytest.fixture
def bot(clip_services: Services, tmp_path: Path) -> Iterator[Bot]:
    load_shapes(clip_services, tmp_path)
    with running_bot(clip_services) as running:
        yield running


def post_image(bot: Bot, data: bytes, name: str, *, channel: str | None = None,
               text: str = f"<@{BOT_USER_ID}> what is this?", count: int = 1
               ) -> tuple[Any, list[dict[str, Any]]]:
    channel = channel or bot.general
    alice = bot.user("alice")
    file = bot.slack.add_file(data, name, user=alice)
    asked = bot.slack.post_user_message(channel, alice, text, files=[file])
    assert asked.status == 200, asked.body
    replies = bot.slack.wait_for_messages(channel, thread_ts=asked.ts, count=count, user=BOT_USER_ID)
    return asked, replies


def answers(bot: Bot, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in bot.slack.messages(channel, thread_ts) if payload(m)]


def answers_for(bot: Bot, data: bytes) -> int:
    """How many answers the bot posts for a picture: the documents worth showing."""
    found = bot.services.images.search(decode_image(data), ANSWERS_SHOWN, channel=bot.general)
    return len(worth_showing(found.hits))


def alternatives_for(bot: Bot, best: dict[str, Any], shown: list[dict[str, Any]]) -> int:
    """How many messages a 👎 on `best` brings: the alternatives, or one "no more"."""
    question = bot.services.feedback.question(payload(best)["query_id"])
    assert question is not None
    more = bot.services.images.search_again(question.text, ALTERNATIVES, channel=bot.general,
                                            exclude=[payload(m)["doc_id"] for m in shown])
    return max(1, len(more))


def stored_questions(services: Services) -> int:
    with services.feedback.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(store.questions)).scalar_one())


def test_an_image_with_a_mention_finds_the_document_about_it(bot: Bot) -> None:
    data = query_png(("red", "circle"))
    asked, _ = post_image(bot, data, "screenshot.png", count=answers_for(bot, data))
    shown = answers(bot, bot.general, asked.ts)
    best = payload(shown[0])
    assert best["doc_id"] == "dashboards/red-circle" and best["rank"] == 1
    assert all(payload(m)["modality"] == "image" for m in shown)
    assert best["model_version"].startswith("clip-argot-tiny-clip")
    assert all(m["thread_ts"] == asked.ts for m in shown)
    assert "The Red Circle dashboard" in shown[0]["blocks"][0]["text"]["text"]
    question = bot.services.feedback.question(best["query_id"])
    assert question.text == decode_image(data).question and question.modality == "image"
    assert [c.params["authorized"] for c in bot.slack.calls_to(FILE_DOWNLOAD)] == [True]


def test_an_image_in_a_dm_is_a_question(bot: Bot) -> None:
    dm = bot.slack.dm(bot.user("alice"))
    _, replies = post_image(bot, query_png(("flow",)), "whiteboard.jpg.png", channel=dm, text="")
    assert payload(replies[0])["doc_id"] == "architecture/ingest-pipeline"
    assert payload(replies[0])["modality"] == "image"


def test_image_answers_are_rated_with_the_same_reactions(bot: Bot) -> None:
    data = query_png(("blue", "square"))
    asked, [best, *_] = post_image(bot, data, "badge.png", count=answers_for(bot, data))
    before = answers(bot, bot.general, asked.ts)
    query_id, bob = payload(best)["query_id"], bot.user("bob")
    feedback = bot.services.feedback
    bot.slack.add_reaction(bob, bot.general, best["ts"], "thumbsup")
    bot.eventually(lambda: [(v.doc_id, v.value) for v in feedback.votes_for(query_id)]
                   == [("releases/blue-square", 1)], what="the vote")
    coming = alternatives_for(bot, best, before)
    bot.slack.add_reaction(bob, bot.general, best["ts"], "-1")
    bot.slack.wait_for_messages(bot.general, asked.ts, count=len(before) + coming, user=BOT_USER_ID)
    more = answers(bot, bot.general, asked.ts)[len(before):]
    assert more and all(payload(m)["modality"] == "image" for m in more)
    assert {payload(m)["model_version"] for m in more} == {payload(best)["model_version"]}
    assert {payload(m)["doc_id"] for m in more}.isdisjoint(payload(m)["doc_id"] for m in before)
    exported = list(feedback.export())
    assert exported[-1]["modality"] == "image" and exported[-1]["question"].startswith("image:sha256:")


def test_bad_pictures_get_a_short_reply_and_nothing_is_stored(bot: Bot) -> None:
    pictures, _ = bot.services.images.indexes()
    count = pictures.count()
    for bad in bad_inputs():
        asked, [reply] = post_image(bot, bad.data, bad.filename)
        assert bad.says.lower() in reply["text"].lower(), (bad.name, reply["text"])
        assert len(reply["text"]) < 200 and not payload(reply)
    # Each reply is the last thing the bot does with a picture: nothing can be stored after it.
    assert stored_questions(bot.services) == 0 and pictures.count() == count
    _, replies = post_image(bot, query_png(("green", "triangle")), "still-fine.png")
    assert payload(replies[0])["doc_id"] == "alerts/green-triangle"  # the bot kept running


def test_failed_downloads_get_a_short_reply(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    slack = bot.slack
    slack.fail_next(FILE_DOWNLOAD, 500)
    _, [reply] = post_image(bot, query_png(("red", "circle")), "a.png")
    assert "could not download" in reply["text"] and "HTTP 500" in reply["text"]

    slack.fail_next(FILE_DOWNLOAD, reset=True)
    _, [reply] = post_image(bot, query_png(("red", "circle")), "b.png")
    assert "could not download" in reply["text"]

    alice = bot.user("alice")
    file = slack.add_file(query_png(("red", "circle")), "c.png", user=alice)
    slack.serve_file_as(file["id"], b"<!DOCTYPE html><html><body>Sign in</body></html>")
    asked = slack.post_user_message(bot.general, alice, f"<@{BOT_USER_ID}>", files=[file])
    [reply] = slack.wait_for_messages(bot.general, asked.ts, user=BOT_USER_ID)
    assert "web page instead of the image" in reply["text"]

    monkeypatch.setattr(image_handler, "MAX_DOWNLOAD_BYTES", 64 * 1024)
    _, [reply] = post_image(bot, noisy_png(200), "huge.png")  # 120 KB, declared as such
    assert "larger than 64 KB" in reply["text"]
    file = slack.add_file(query_png(("red", "circle")), "d.png", user=alice)
    slack.serve_file_as(file["id"], noisy_png(200), "image/png")  # declared small, streams big
    asked = slack.post_user_message(bot.general, alice, f"<@{BOT_USER_ID}>", files=[file])
    [reply] = slack.wait_for_messages(bot.general, asked.ts, user=BOT_USER_ID)
    assert "larger than 64 KB" in reply["text"]
    assert stored_questions(bot.services) == 0


def test_without_clip_weights_images_get_a_short_reply_and_text_still_works(
        services: Services) -> None:
    """The default ViT-B-32, offline and never downloaded: image search is off."""
    load_team_kb(services)
    with running_bot(services) as bot:
        _, [reply] = post_image(bot, query_png(("red", "circle")), "shot.png")
        assert reply["text"] == image_handler.IMAGES_OFF
        _, replies = bot.ask("what is project phoenix?")
        assert payload(replies[0])["doc_id"] == "services/phoenix"
    assert not bot.slack.calls_to(FILE_DOWNLOAD)  # nothing was fetched for nothing


def test_the_token_only_goes_to_slack_hosts() -> None:
    hosts = image_handler.allowed_hosts("http://127.0.0.1:4321/api/")
    assert image_handler.host_allowed("https://files.slack.com/files-pri/T1-F1/x.png", hosts)
    assert image_handler.host_allowed("http://127.0.0.1:4321/files/F1/x.png", hosts)
    assert not image_handler.host_allowed("https://files.slack.com.evil.example/x.png", hosts)
    with pytest.raises(image_handler.DownloadFailed):
        image_handler.download({"url_private_download": "https://evil.example/x.png", "size": 10},
                               "xoxb-secret", hosts)


def test_only_messages_with_images_are_image_questions() -> None:
    png = {"id": "F1", "mimetype": "image/png"}
    pdf = {"id": "F2", "mimetype": "application/pdf"}
    mention = {"type": "app_mention", "user": "U1", "text": "<@UBOT>", "ts": "1.0", "channel": "C1"}
    assert image_handler.is_image_question({**mention, "files": [pdf, png]})
    assert not image_handler.is_image_question({**mention, "files": [pdf]})
    assert not image_handler.is_image_question({**mention, "files": [png], "bot_id": "B1"})
    dm = {**mention, "type": "message", "channel_type": "im", "subtype": "file_share"}
    assert image_handler.is_direct_image({**dm, "files": [png]})
    assert not image_handler.is_direct_image({**dm, "channel_type": "channel", "files": [png]})
