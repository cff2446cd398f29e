"""The playground's "Save to Argot", thread replies and Home tab: the page's endpoints reach
the real bot as Slack payloads, and the two clicks of docs/slack.md work there."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.playground import Playground
from bot.playground.surfaces import seed_teammate_thread
from bot.services import Services
from handlers.rightpage import ASK
from tests.slackbot import load_team_kb, payload


@pytest.fixture
def playground(services: Services) -> Iterator[Playground]:
    load_team_kb(services)
    with Playground(services) as running:
        yield running


@pytest.fixture
def page(playground: Playground) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=playground.url, timeout=20) as client:
        yield client


def test_the_page_loads_the_surfaces_script(page: httpx.Client) -> None:
    assert "/playground/static/surfaces.js" in page.get("/").text
    script = page.get("/playground/static/surfaces.js")
    assert script.status_code == 200 and "Save to Argot" in script.text


def test_two_clicks_from_a_teammates_thread_to_an_answer(page: httpx.Client,
                                                         playground: Playground) -> None:
    root = seed_teammate_thread(playground)
    assert page.post("/playground/api/save", json={"ts": root}).json() == {"ok": True}
    slack, me = playground.slack, playground.person
    [note] = slack.wait_for(lambda: [e for e in slack.ephemerals(playground.channel, me)
                                     if e["text"].startswith("Saved")], what="the saved note")
    assert "Nightjar" in note["text"]
    asked = page.post("/playground/api/ask", json={"text": "what is Nightjar?"}).json()
    [best, *_] = slack.wait_for_messages(playground.channel, asked["ts"], user=slack.user_id("argot"))
    assert payload(best)["doc_id"] == f"slack/{playground.channel}/{root}"


def test_the_home_tab_and_its_answer_form_on_the_page(page: httpx.Client,
                                                      playground: Playground) -> None:
    from engine.feedback import AskedQuestion

    question = AskedQuestion(text="what is the tollbooth?", user=playground.person,
                             channel=playground.channel)
    playground.services.feedback.record_question(question)
    home = page.get("/playground/api/home").json()
    assert home["ok"] and home["view"]["type"] == "home"
    buttons = [b["accessory"]["value"] for b in home["view"]["blocks"] if b.get("accessory")]
    assert buttons == [question.query_id]
    form = page.post("/playground/api/home/answer", json={"query_id": question.query_id}).json()
    assert form["view"]["type"] == "modal"
    refused = page.post("/playground/api/modal", json={"view_id": form["view"]["id"]}).json()
    assert not refused["ok"] and "Type the answer" in refused["error"]
    done = page.post("/playground/api/modal", json={
        "view_id": form["view"]["id"], "definition": "The tollbooth is the API gateway."}).json()
    assert done == {"ok": True}
    votes = playground.services.feedback.votes_for
    playground.slack.wait_for(lambda: votes(question.query_id), what="the positive")
    assert votes(question.query_id)[0].value == 1


def test_a_reply_in_a_thread_from_the_page_answers_the_right_page_question(
        page: httpx.Client, playground: Playground) -> None:
    from engine.feedback import AskedQuestion
    from engine.knowledge.gaps import recent_questions
    from handlers.rightpage import ask_for_right_page

    asked = page.post("/playground/api/ask", json={"text": "what is the tollbooth?"}).json()
    slack = playground.slack
    slack.wait_for_messages(playground.channel, asked["ts"], user=slack.user_id("argot"))
    feedback = playground.services.feedback
    [recent] = recent_questions(feedback, playground.person, 1)
    row = feedback.question(recent.query_id)
    assert isinstance(row, AskedQuestion) and row.thread_ts == asked["ts"]
    ask_for_right_page(playground.app.client, feedback, row)
    page.post("/playground/api/ask", json={"text": "glossary/slipway", "thread_ts": asked["ts"]})
    slack.wait_for(lambda: any(v.doc_id == "glossary/slipway" for v in feedback.votes_for(row.query_id)),
                   what="the right page's vote")

    def thanked() -> list[str]:
        texts = [m["text"] for m in slack.messages(playground.channel, asked["ts"])]
        return texts if any(t.startswith("Thanks") for t in texts) else []

    assert ASK in slack.wait_for(thanked, what="the bot's thanks for the right page")


@pytest.mark.slow
@pytest.mark.browser
def test_save_to_argot_and_the_home_tab_in_a_real_browser(playground: Playground) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.test_playground import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.is_file():
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}; run `make browser`.")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seed_teammate_thread(playground)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(playground.url)
            teammate = page.get_by_test_id("message").filter(has_text="Nightjar is what we call").first
            teammate.hover()
            teammate.get_by_test_id("save-to-argot").click()
            expect(page.locator(".message.ephemeral")).to_contain_text("Saved")
            page.screenshot(path=str(ARTIFACTS / "saved-to-argot.png"))
            page.get_by_test_id("message-input").fill("what is Nightjar?")
            page.keyboard.press("Enter")
            answer = page.get_by_test_id("answer").filter(has_text="Nightjar is what we call").first
            expect(answer).to_be_visible(timeout=20_000)
            page.get_by_test_id("home-tab").click()
            expect(page.get_by_test_id("home")).to_contain_text("What Argot knows", timeout=20_000)
            expect(page.get_by_test_id("home")).to_contain_text("saved Slack threads")
            page.screenshot(path=str(ARTIFACTS / "home-tab.png"))
        finally:
            browser.close()
    assert errors == []
