"""The Slack emulator behaves like Slack towards real slack_sdk and slack_bolt code.

Each test drives the emulator through the same libraries the bot uses, so a
difference from real Slack shows up here before it hides a bug in the bot.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from bot.playground.emulator import (
    BOT_USER_ID,
    FILE_DOWNLOAD,
    SIGNING_SECRET,
    Signing,
    SlackEmulator,
)

SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def client_for(slack: SlackEmulator, **kwargs: Any) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url, **kwargs)


@contextmanager
def serve(handle: Any) -> Iterator[str]:
    """Serve ``handle(method, path, headers, body) -> (status, headers, body)`` on a free
    port; yields the base URL. Stands in for the bot's HTTP endpoint."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            status, headers, answer = handle(self.path, dict(self.headers.items()), body)
            payload = answer.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def recording_bot(slack: SlackEmulator) -> Iterator[list[dict[str, Any]]]:
    """A fake bot that answers 200 and keeps every request it got."""
    received: list[dict[str, Any]] = []

    def handle(path: str, headers: dict[str, str], body: str) -> tuple[int, dict, str]:
        received.append({"headers": {k.lower(): v for k, v in headers.items()}, "body": body})
        return 200, {}, ""

    with serve(handle) as url:
        slack.connect(f"{url}/slack/events", SECRET)
        yield received


@contextmanager
def bolt_server(app: App) -> Iterator[str]:
    """Serve a Bolt app over real HTTP (what `argot serve --http` does), on a free port."""

    def handle(path: str, headers: dict[str, str], body: str) -> tuple[int, dict, str]:
        response = app.dispatch(BoltRequest(body=body, headers=headers))
        flat = {name: values[0] for name, values in response.headers.items() if values}
        return response.status, flat, response.body

    with serve(handle) as url:
        yield f"{url}/slack/events"


# -- Web API -------------------------------------------------------------------------------


def test_thread_reply_with_metadata_reads_back_through_web_client(slack: SlackEmulator) -> None:
    client = client_for(slack)
    assert client.auth_test()["user_id"] == BOT_USER_ID
    general = slack.channel_id("general")
    question = slack.post_user_message(general, slack.user_id("alice"), "what is Phoenix?")
    metadata = {"event_type": "argot_answer", "event_payload": {"doc_id": "d1", "rank": 1}}

    client.chat_postMessage(
        channel=general,
        thread_ts=question.ts,
        text="Phoenix is the billing rewrite",
        metadata=metadata,
    )

    thread = client.conversations_replies(channel=general, ts=question.ts, include_all_metadata=True)[
        "messages"
    ]
    assert [m["text"] for m in thread] == ["what is Phoenix?", "Phoenix is the billing rewrite"]
    assert thread[0]["reply_count"] == 1
    assert thread[1]["metadata"] == metadata
    assert thread[1]["bot_id"] == "BBOT" and thread[1]["thread_ts"] == question.ts
    without = client.conversations_replies(channel=general, ts=question.ts)["messages"]
    assert "metadata" not in without[1]  # like Slack: only with include_all_metadata
    assert slack.calls_to("chat.postMessage")[0].params["metadata"] == metadata


def test_form_encoded_metadata_is_stored_parsed(slack: SlackEmulator) -> None:
    metadata = {"event_type": "argot_answer", "event_payload": {"rank": 2}}
    answer = httpx.post(
        slack.api_url + "chat.postMessage",
        data={"channel": "general", "text": "hi", "metadata": json.dumps(metadata)},
        headers={"Authorization": f"Bearer {slack.bot_token}"},
    ).json()
    assert answer["ok"]
    assert slack.message(answer["channel"], answer["ts"])["metadata"] == metadata


def test_wrong_or_missing_token_is_rejected(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).chat_postMessage(channel="general", text="hi")
    assert wrong.value.response["error"] == "invalid_auth"
    missing = httpx.post(slack.api_url + "auth.test").json()
    assert missing == {"ok": False, "error": "invalid_auth"}
    assert slack.messages("general") == []


def test_unknown_method_and_bad_arguments_answer_slack_errors(slack: SlackEmulator) -> None:
    client = client_for(slack)
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("chat.scheduleNothing")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.chat_postMessage(channel="C404", text="hi")
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning):
        client.chat_postMessage(channel="general")


def test_other_methods_a_bot_uses_answer_like_slack(slack: SlackEmulator) -> None:
    client = client_for(slack)
    alice = slack.user_id("alice")
    private = slack.add_channel("ops", private=True, members=[alice])
    info = client.conversations_info(channel=private)["channel"]
    assert private.startswith("G") and info["is_private"] and info["is_member"]
    dm = client.conversations_open(users=alice)["channel"]["id"]
    assert dm == slack.dm(alice) and client.conversations_info(channel=dm)["channel"]["is_im"]
    assert client.users_info(user=BOT_USER_ID)["user"]["is_bot"]
    assert client.users_info(user=alice)["user"]["real_name"] == "Alice Example"

    posted = client.chat_postMessage(channel=private, text="draft")
    client.chat_update(channel=private, ts=posted["ts"], text="final")
    assert slack.message(private, posted["ts"])["text"] == "final"
    link = client.chat_getPermalink(channel=private, message_ts=posted["ts"])["permalink"]
    assert link.startswith(slack.base_url) and f"/archives/{private}/p" in link
    client.reactions_add(channel=private, timestamp=posted["ts"], name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        client.reactions_add(channel=private, timestamp=posted["ts"], name="eyes")
    client.chat_postEphemeral(channel=private, user=alice, text="only you")
    (only,) = slack.ephemerals(private, alice)
    assert only["text"] == "only you" and slack.messages(private)[0]["text"] == "final"


def test_upload_url_accepts_a_multipart_form(slack: SlackEmulator) -> None:
    auth = {"Authorization": f"Bearer {slack.bot_token}"}
    started = httpx.post(
        slack.api_url + "files.getUploadURLExternal",
        data={"filename": "notes.txt", "length": "5"},
        headers=auth,
    ).json()
    assert started["upload_url"].startswith(slack.base_url)
    sent = httpx.post(started["upload_url"], files={"file": ("notes.txt", b"hello")})
    assert sent.status_code == 200
    done = httpx.post(
        slack.api_url + "files.completeUploadExternal",
        headers=auth,
        json={"files": [{"id": started["file_id"]}], "channel_id": "general"},
    ).json()
    assert done["ok"] and slack.file_content(started["file_id"]) == b"hello"
    (message,) = slack.messages("general")
    assert message["files"][0]["filetype"] == "text" and message["upload"] is True


def test_rate_limited_post_is_retried_and_delivered_once(
    slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler sleeps Retry-After + random(); zero both so the test stays fast.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.random.random", lambda: 0.0)
    slack.fail_next("chat.postMessage", 429, retry_after=0)
    client = client_for(slack, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])

    client.chat_postMessage(channel="general", text="answer")

    assert len(slack.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in slack.messages("general")] == ["answer"]


def test_server_errors_and_resets_are_answered_as_faults(slack: SlackEmulator) -> None:
    quick = FixedValueRetryIntervalCalculator(0.0)
    slack.fail_next("chat.postMessage", 500, times=2)
    with pytest.raises(SlackApiError) as failed:
        client_for(slack, retry_handlers=[]).chat_postMessage(channel="general", text="a")
    assert failed.value.response.status_code == 500
    retrying = client_for(slack, retry_handlers=[ServerErrorRetryHandler(1, quick)])
    retrying.chat_postMessage(channel="general", text="b")

    slack.fail_next("chat.postMessage", reset=True)
    client_for(slack, retry_handlers=[ConnectionErrorRetryHandler(1, quick)]).chat_postMessage(
        channel="general", text="c"
    )
    assert [m["text"] for m in slack.messages("general")] == ["b", "c"]


def test_files_upload_v2_posts_the_file_in_the_thread(slack: SlackEmulator) -> None:
    client = client_for(slack)
    general = slack.channel_id("general")
    question = slack.post_user_message(general, slack.user_id("alice"), "report please")

    uploaded = client.files_upload_v2(
        channel=general,
        thread_ts=question.ts,
        content=b"\x89PNG fake",
        filename="space.png",
        title="Embedding space",
        initial_comment="Learning report",
    )

    (reply,) = slack.messages(general, thread_ts=question.ts)
    assert reply["text"] == "Learning report" and reply["user"] == BOT_USER_ID
    (file,) = reply["files"]
    assert file["id"] == uploaded["file"]["id"]
    assert (file["name"], file["title"], file["mimetype"]) == ("space.png", "Embedding space", "image/png")
    assert slack.file_content(file["id"]) == b"\x89PNG fake"
    info = client.files_info(file=file["id"])["file"]
    assert info["shares"]["public"][general][0]["thread_ts"] == question.ts


def test_file_download_needs_the_bot_token(slack: SlackEmulator) -> None:
    alice = slack.user_id("alice")
    file = slack.add_file(b"%PDF-1.4 tiny", "spec.pdf", "application/pdf", alice)
    url = file["url_private_download"]
    assert url.startswith(slack.base_url) and file["filetype"] == "pdf" and file["size"] == 13

    good = httpx.get(url, headers={"Authorization": f"Bearer {slack.bot_token}"})
    assert (good.status_code, good.content) == (200, b"%PDF-1.4 tiny")
    assert good.headers["content-type"] == "application/pdf"

    anonymous = httpx.get(url)
    assert anonymous.status_code == 302
    followed = httpx.get(url, follow_redirects=True)  # Slack's trap: a 200 HTML sign-in page
    assert followed.status_code == 200 and "text/html" in followed.headers["content-type"]
    wrong = httpx.get(url, headers={"Authorization": "Bearer xoxb-wrong"})
    assert wrong.status_code == 403 and wrong.text.startswith("<!DOCTYPE html>")
    assert [c.params["authorized"] for c in slack.calls_to(FILE_DOWNLOAD)] == [
        True,
        False,
        False,
        False,
    ]

    slack.serve_file_as(file["id"], b"<html>login</html>")
    html = httpx.get(url, headers={"Authorization": f"Bearer {slack.bot_token}"})
    assert html.headers["content-type"].startswith("text/html") and html.text == "<html>login</html>"


# -- Events API ----------------------------------------------------------------------------


def test_event_signatures_verify_like_slack(slack: SlackEmulator) -> None:
    slack.connect("http://127.0.0.1:9/slack/events", SECRET)
    general = slack.channel_id("general")
    verifier = SignatureVerifier(SECRET)

    def signed(signing: Signing) -> Any:
        return slack.post_user_message(
            general, slack.user_id("bob"), f"<@{BOT_USER_ID}> hi", deliver=False, signing=signing
        ).request

    good = signed(Signing())
    assert verifier.is_valid_request(good.body, good.headers)
    stale = signed(Signing(stale=True))
    assert not verifier.is_valid_request(stale.body, stale.headers)
    forged = signed(Signing(forge=True))
    assert not verifier.is_valid_request(forged.body, forged.headers)


def test_mention_in_channel_delivers_app_mention_envelope(slack: SlackEmulator) -> None:
    with recording_bot(slack) as received:
        general = slack.channel_id("general")
        first = slack.post_user_message(general, slack.user_id("alice"), f"<@{BOT_USER_ID}> a")
        second = slack.post_user_message(general, slack.user_id("alice"), f"<@{BOT_USER_ID}> b")
        quiet = slack.post_user_message(general, slack.user_id("alice"), "no mention")

    assert (first.status, second.status, quiet.status) == (200, 200, None)
    assert len(received) == 2
    envelope = json.loads(received[0]["body"])
    assert envelope["type"] == "event_callback" and envelope["api_app_id"] == "A0ARGOT"
    assert envelope["authorizations"][0]["user_id"] == BOT_USER_ID
    assert envelope["event"]["type"] == "app_mention"
    assert envelope["event"]["channel"] == general and envelope["event"]["ts"] == first.ts
    assert first.event_id != second.event_id
    assert [m["text"] for m in slack.messages(general)][-1] == "no mention"


def test_dm_with_a_file_delivers_an_im_message_with_the_file(slack: SlackEmulator) -> None:
    alice = slack.user_id("alice")
    image = slack.add_file(b"\x89PNG whiteboard", "board.png", "image/png", alice)
    with recording_bot(slack) as received:
        dm = slack.dm(alice)
        slack.post_user_message(dm, alice, "what is this?", files=[image])

    event = json.loads(received[0]["body"])["event"]
    assert dm.startswith("D") and event["channel"] == dm
    assert (event["type"], event["channel_type"], event["subtype"]) == ("message", "im", "file_share")
    (file,) = event["files"]
    assert {k: file[k] for k in ("name", "mimetype", "filetype", "size")} == {
        "name": "board.png",
        "mimetype": "image/png",
        "filetype": "png",
        "size": 15,
    }
    assert file["url_private_download"] == image["url_private_download"]


def test_reactions_are_recorded_and_delivered(slack: SlackEmulator) -> None:
    general = slack.channel_id("general")
    answer = client_for(slack).chat_postMessage(channel=general, text="an answer")
    bob = slack.user_id("bob")
    with recording_bot(slack) as received:
        slack.add_reaction(bob, general, answer["ts"], "+1")
        assert slack.message(general, answer["ts"])["reactions"] == [
            {"name": "+1", "users": [bob], "count": 1}
        ]
        slack.remove_reaction(bob, general, answer["ts"], "+1")

    added, removed = (json.loads(r["body"])["event"] for r in received)
    assert added["type"] == "reaction_added" and removed["type"] == "reaction_removed"
    assert added["item"] == {"type": "message", "channel": general, "ts": answer["ts"]}
    assert added["item_user"] == BOT_USER_ID and added["reaction"] == "+1"
    assert "reactions" not in slack.message(general, answer["ts"])


def test_redelivery_keeps_the_event_id_and_adds_retry_headers(slack: SlackEmulator) -> None:
    with recording_bot(slack) as received:
        first = slack.add_reaction(
            slack.user_id("bob"),
            "general",
            slack.post_user_message("general", slack.user_id("alice"), "q").ts,
            "-1",
        )
        slack.redeliver(first, retry_num=1, reason="http_timeout")

    original, retry = received
    assert json.loads(original["body"])["event_id"] == json.loads(retry["body"])["event_id"]
    assert "x-slack-retry-num" not in original["headers"]
    assert (retry["headers"]["x-slack-retry-num"], retry["headers"]["x-slack-retry-reason"]) == (
        "1",
        "http_timeout",
    )
    assert SignatureVerifier(SECRET).is_valid_request(retry["body"], retry["headers"])


# -- a real Bolt app, end to end -----------------------------------------------------------


def test_bolt_app_answers_a_mention_in_its_thread(slack: SlackEmulator) -> None:
    app = App(signing_secret=SECRET, client=client_for(slack))

    @app.event("app_mention")
    def answer(event: dict, client: WebClient) -> None:
        client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text="Phoenix is the billing rewrite",
        )

    with bolt_server(app) as url:
        slack.connect(url, SECRET)
        assert slack.url_verification("abc").json() == {"challenge": "abc"}
        general = slack.channel_id("general")
        asked = slack.post_user_message(general, slack.user_id("alice"), f"<@{BOT_USER_ID}> what is Phoenix?")
        forged = slack.post_user_message(
            general, slack.user_id("alice"), f"<@{BOT_USER_ID}> again", signing=Signing(forge=True)
        )
        replies = slack.wait_for_messages(general, thread_ts=asked.ts, user=BOT_USER_ID)

    assert asked.status == 200 and forged.status == 401
    assert [r["text"] for r in replies] == ["Phoenix is the billing rewrite"]
    assert slack.messages(general, thread_ts=forged.ts) == []


def test_bolt_slash_command_ack_and_respond_show_as_ephemerals(slack: SlackEmulator) -> None:
    app = App(signing_secret=SECRET, client=client_for(slack))

    @app.command("/argot")
    def ask(ack: Any, respond: Any, command: dict) -> None:
        ack("Looking it up…")
        respond(f"Answer to {command['text']}")

    alice = slack.user_id("alice")
    with bolt_server(app) as url:
        slack.connect(url, SECRET)
        done = slack.slash_command(alice, "general", "/argot", "golden ticket")
        shown = slack.wait_for(lambda: len(slack.ephemerals(user=alice)) == 2 and slack.ephemerals())

    assert (done.status, done.body) == (200, "Looking it up…")  # Bolt acks text as text/plain
    assert sorted(e["text"] for e in shown) == ["Answer to golden ticket", "Looking it up…"]
    assert slack.messages("general") == []  # ephemeral answers are not channel messages


def test_bolt_button_click_reaches_its_action_listener(slack: SlackEmulator) -> None:
    app = App(signing_secret=SECRET, client=client_for(slack))
    clicked: list[str] = []

    @app.action("rate")
    def rate(ack: Any, body: dict, respond: Any) -> None:
        ack()
        clicked.append(body["actions"][0]["value"])
        respond("Thanks for rating")

    general = slack.channel_id("general")
    answer = client_for(slack).chat_postMessage(channel=general, text="an answer")
    with bolt_server(app) as url:
        slack.connect(url, SECRET)
        delivery = slack.click_button(slack.user_id("bob"), general, answer["ts"], "rate", "up")
        (thanks,) = slack.wait_for(lambda: slack.ephemerals(general))

    assert delivery.status == 200 and clicked == ["up"]
    assert thanks["text"] == "Thanks for rating" and thanks["visible_to"] == slack.user_id("bob")


# -- the read model ------------------------------------------------------------------------


def test_channel_history_nests_replies_and_revision_wakes_waiters(slack: SlackEmulator) -> None:
    general = slack.channel_id("general")
    alice = slack.user_id("alice")
    question = slack.post_user_message(general, alice, "what is BOFH?")
    client = client_for(slack)
    reply = client.chat_postMessage(channel=general, thread_ts=question.ts, text="an operator")
    slack.add_reaction(alice, general, reply["ts"], "+1", deliver=False)

    before = slack.revision
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel=general, text="later"))
    timer.start()
    started = time.monotonic()
    after = slack.wait_for_change(before, timeout=5)
    timer.join()

    assert after > before and time.monotonic() - started < 2
    history = slack.channel_history(general)
    json.dumps(history)  # a web page can serve it as is
    assert [m["text"] for m in history] == ["what is BOFH?", "later"]
    assert [r["text"] for r in history[0]["replies"]] == ["an operator"]
    assert history[0]["replies"][0]["reactions"][0]["users"] == [alice]
    assert {c["id"] for c in slack.snapshot()["channels"]} >= {general}


def test_wait_for_times_out_with_a_clear_error(slack: SlackEmulator) -> None:
    with pytest.raises(TimeoutError, match="1 message"):
        slack.wait_for_messages("general", timeout=0.05)


def test_events_are_signed_with_the_exported_secret_unless_told_otherwise() -> None:
    with SlackEmulator(request_url="http://127.0.0.1:9/slack/events") as slack:
        sent = slack.post_user_message(slack.channel_id("general"), slack.user_id("alice"),
                                       f"<@{BOT_USER_ID}> hi", deliver=False).request
    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(sent.body, sent.headers)
    assert not SignatureVerifier(SECRET).is_valid_request(sent.body, sent.headers)
    assert [user["id"] for user in SlackEmulator(seed=False).snapshot()["users"]] == [BOT_USER_ID]
