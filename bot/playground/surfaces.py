"""The playground's Slack surfaces beyond messages: "Save to Argot" and the Home tab.

Each route is what a Slack client does for its user, through the emulator, so the bot
hears the very payload Slack would send:

- POST save          `{"ts"}`  → the "Save to Argot" message shortcut on that message;
- GET  home                   → `app_home_opened`, then the Home tab the bot publishes;
- POST home/answer   `{"query_id"}` → the Home tab's "Answer it" button; the modal it opens;
- POST modal         `{"view_id", "definition", "link"}` → submitting the modal: ok, or
                                the errors the bot keeps it open with.

With these, the two-click path of docs/slack.md (a thread explains Nightjar → Save to
Argot → "what is Nightjar?" is answered) works in the playground as in Slack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.playground.emulator import HttpRequest, HttpResponse
from bot.playground.emulator.server import Route
from bot.playground.page import json_body as body_of
from bot.playground.page import problem
from handlers.homeview import ANSWER_ACTION, DEFINITION_BLOCK, LINK_BLOCK
from handlers.shortcuts import CALLBACK_ID

if TYPE_CHECKING:
    from bot.playground.runner import Playground

API = "/playground/api/"
WAIT_SECONDS = 15.0
Guard = Callable[..., Route]


class SurfaceRoutes:
    def __init__(self, playground: Playground) -> None:
        self.playground = playground

    def install(self, own_site: Guard, guarded: Callable[[Route], Route]) -> None:
        slack = self.playground.slack
        slack.add_route("POST", API + "save", own_site(guarded(self.save), body="json"))
        slack.add_route("GET", API + "home", own_site(guarded(self.home)))
        slack.add_route("POST", API + "home/answer", own_site(guarded(self.answer), body="json"))
        slack.add_route("POST", API + "modal", own_site(guarded(self.submit), body="json"))

    def save(self, request: HttpRequest) -> HttpResponse:
        ts = str(body_of(request).get("ts") or "")
        if not ts:
            return problem("Say which message to save (ts).", 400)
        playground = self.playground
        delivery = playground.slack.message_shortcut(playground.person, playground.channel, ts,
                                                     CALLBACK_ID)
        if delivery.status != 200:
            return problem(f"The bot answered HTTP {delivery.status}.", 502)
        return HttpResponse.json({"ok": True})

    def home(self, request: HttpRequest) -> HttpResponse:
        slack, me = self.playground.slack, self.playground.person
        before = (slack.home(me) or {}).get("hash")
        slack.open_home(me)
        view = slack.wait_for(lambda: (h := slack.home(me)) and h.get("hash") != before and h,
                              WAIT_SECONDS, "the Home tab")
        return HttpResponse.json({"ok": True, "view": view}, headers={"Cache-Control": "no-store"})

    def answer(self, request: HttpRequest) -> HttpResponse:
        query_id = str(body_of(request).get("query_id") or "")
        slack, me = self.playground.slack, self.playground.person
        open_before = {m["id"] for m in slack.modals(me)}
        slack.click_view_button(me, ANSWER_ACTION, query_id)
        opened = slack.wait_for(lambda: [m for m in slack.modals(me) if m["id"] not in open_before],
                                WAIT_SECONDS, "the answer form")
        return HttpResponse.json({"ok": True, "view": opened[-1]})

    def submit(self, request: HttpRequest) -> HttpResponse:
        body = body_of(request)
        slack, me = self.playground.slack, self.playground.person
        view_id = str(body.get("view_id") or "")
        slack.submit_modal(me, view_id, {DEFINITION_BLOCK: str(body.get("definition") or ""),
                                         LINK_BLOCK: str(body.get("link") or "")})
        still_open = next((m for m in slack.modals(me) if m["id"] == view_id), None)
        if still_open is not None:
            return HttpResponse.json({"ok": False, "errors": still_open.get("errors") or {},
                                      "error": " ".join((still_open.get("errors") or {}).values())})
        return HttpResponse.json({"ok": True})


TEAMMATE_THREAD = (
    ("bob", "Nightjar is what we call the overnight settlement batch: at 02:00 it settles "
            "every invoice approved that day and sends finance the totals."),
    ("carol", "If Nightjar fails, the payments on-call reruns it with the settlement-run runbook; "
              "it is safe to run twice."),
)


def seed_teammate_thread(playground: Playground) -> str:
    """A thread by two teammates that explains a word the documents never use (Nightjar),
    so a newcomer can try the two clicks: *Save to Argot* on it, then ask "what is
    Nightjar?". Posted without events, as if written before the bot was listening."""
    slack = playground.slack
    people = {}
    for name, _ in TEAMMATE_THREAD:
        try:
            people[name] = slack.user_id(name)
        except KeyError:
            people[name] = slack.add_user(name)
    (first, text), *replies = TEAMMATE_THREAD
    root = slack.post_user_message(playground.channel, people[first], text, deliver=False).ts
    for name, reply in replies:
        slack.post_user_message(playground.channel, people[name], reply, thread_ts=root,
                                deliver=False)
    return root
