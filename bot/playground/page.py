"""The page's routes on the emulator's server: the page itself, and what a person can do.

Each action is what a Slack client would do for its user, done through the emulator,
so the bot hears it as a signed Slack event:

- ask     → `post_user_message` (a mention of the bot in #general), or `slash_command`
            for text starting with `/argot`;
- react   → `add_reaction` / `remove_reaction` (👍 is `+1`, 👎 is `-1`);
- upload  → `add_file` + `post_user_message(files=[…])`;
- learn   → a learning cycle in the background (learning.py);
- team    → "Let the team rate": simulated teammates ask and rate in #general, then a
            learning cycle, with the team's held-out slang before and after (team.py).

Only the page itself may drive it: every route answers only to its own Host
(`127.0.0.1:PORT` or `localhost:PORT`, so a DNS-rebound name gets 403), every action
refuses another site's Origin (403) and any body but JSON (or, for uploads, an image
type: 415), so a web page the visitor opens elsewhere cannot post as them.

The page reads the channel by long-polling `GET /playground/api/channel?since=REVISION`,
which answers as soon as the emulator's workspace changes (or after POLL_SECONDS).
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

import httpx

from bot.playground.emulator import BOT_USER_ID, HttpRequest, HttpResponse, SlackEmulator, SlackError
from bot.playground.emulator.server import Route
from bot.playground.view import FILES_PATH, page_messages, people

if TYPE_CHECKING:
    from bot.playground.emulator import Delivery
    from bot.playground.runner import Playground

API = "/playground/api/"
STATIC = "/playground/static/"
STAR_MAP = "/playground/learning/star-map.png"
POLL_SECONDS = 25.0
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
BOT_MENTION = f"<@{BOT_USER_ID}>"
TYPED_MENTION = re.compile(r"(?<![\w<])@argot\b", re.IGNORECASE)
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*\.(?:html|css|js|svg|png)$")
NO_CACHE = {"Cache-Control": "no-store"}
IMAGES_NOT_BUILT = ("Image search is not built yet in this build of Argot (handlers/images.py "
                    "has not landed), so the bot will not answer images.")


class PageRoutes:
    """Routes for one `Playground`; `install` adds them to its emulator's server."""

    def __init__(self, playground: Playground) -> None:
        self.playground = playground

    @property
    def slack(self) -> SlackEmulator:
        return self.playground.slack

    def install(self, slack: SlackEmulator) -> None:
        own = self.own_site
        slack.add_route("GET", "/", own(self.index))
        slack.add_route("GET", STATIC, own(self.static))
        slack.add_route("GET", API + "channel", own(self.channel))
        slack.add_route("POST", API + "ask", own(guarded(self.ask), body="json"))
        slack.add_route("POST", API + "react", own(guarded(self.react), body="json"))
        slack.add_route("POST", API + "upload", own(guarded(self.upload), body="image"))
        slack.add_route("GET", API + "learn", own(self.learning_state))
        slack.add_route("POST", API + "learn", own(self.learn, body="json"))
        slack.add_route("GET", API + "team", own(self.team_state))
        slack.add_route("POST", API + "team", own(self.team, body="json"))
        slack.add_route("GET", STAR_MAP, own(self.star_map))
        slack.add_route("GET", FILES_PATH, own(self.file))
        from bot.playground.surfaces import SurfaceRoutes  # Save to Argot, the Home tab

        SurfaceRoutes(self.playground).install(own, guarded)

    def own_site(self, route: Route, body: str | None = None) -> Route:
        """`route`, answering only the page's own Host and Origin, with `body` ("json",
        "image") the one content type accepted."""

        def checked(request: HttpRequest) -> HttpResponse:
            port = self.slack.server.port
            hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
            if (request.header("host") or "").lower() not in hosts:
                return problem(f"The playground answers only at http://127.0.0.1:{port}/.", 403)
            origin = request.header("origin")
            if request.method != "GET" and (
                    (origin is not None and origin.lower() not in {f"http://{h}" for h in hosts})
                    or request.header("sec-fetch-site") == "cross-site"):
                return problem("Only the playground's own page can do that.", 403)
            kind = (request.header("content-type") or "").split(";")[0].strip().lower()
            if body == "json" and kind != "application/json":
                return problem("Send JSON (Content-Type: application/json).", 415)
            if body == "image" and not kind.startswith("image/"):
                return problem("Only images can be uploaded here (PNG, JPEG, WebP, GIF).", 415)
            return route(request)

        return checked

    # -- the page ----------------------------------------------------------------------------

    def index(self, request: HttpRequest) -> HttpResponse:
        if request.path not in ("/", "/index.html"):
            return HttpResponse.text("not found", 404)
        return static_file("index.html")

    def static(self, request: HttpRequest) -> HttpResponse:
        return static_file(request.path.removeprefix(STATIC))

    def channel(self, request: HttpRequest) -> HttpResponse:
        """The channel as the visitor sees it; waits for a change past `since` first."""
        since = request.query.get("since")
        if since is not None and since.lstrip("-").isdigit():
            timeout = min(float(request.query.get("wait") or POLL_SECONDS), POLL_SECONDS)
            self.slack.wait_for_change(int(since), timeout=timeout)
        me, channel = self.playground.person, self.playground.channel
        snapshot = self.slack.snapshot()
        history = self.slack.channel_history(channel, viewer=me)
        return HttpResponse.json({
            "revision": snapshot["revision"],
            "team": snapshot["team"]["name"],
            "channel": {"id": channel, "name": "general"},
            "me": me,
            "bot": BOT_USER_ID,
            "people": people(snapshot),
            "messages": page_messages(history, me),
        }, headers=NO_CACHE)

    # -- what a person does ------------------------------------------------------------------

    def ask(self, request: HttpRequest) -> HttpResponse:
        """`{"text": "...", "thread_ts"?: "..."}`: a message to the bot, or `/argot …`."""
        body = json_body(request)
        text = str(body.get("text") or "").strip()
        if not text:
            return problem("Type a question first.", 400)
        me, channel = self.playground.person, self.playground.channel
        if text.split(maxsplit=1)[0] == "/argot":
            delivery = self.slack.slash_command(me, channel, "/argot", text[len("/argot"):].strip())
            return delivered(delivery)
        delivery = self.slack.post_user_message(channel, me, as_mention(text),
                                                thread_ts=body.get("thread_ts") or None)
        return delivered(delivery)

    def react(self, request: HttpRequest) -> HttpResponse:
        """`{"ts": "...", "name": "+1"}`: toggles the visitor's reaction on that message."""
        body = json_body(request)
        ts, name = str(body.get("ts") or ""), str(body.get("name") or "")
        if not ts or not re.fullmatch(r"[a-z0-9_+\-:]+", name):
            return problem("Say which message (ts) and which reaction (name).", 400)
        me, channel = self.playground.person, self.playground.channel
        try:
            message = self.slack.message(channel, ts)
        except SlackError:
            return problem("That message is not in the channel.", 404)
        mine = any(r["name"] == name and me in r["users"] for r in message.get("reactions", []))
        act = self.slack.remove_reaction if mine else self.slack.add_reaction
        return delivered(act(me, channel, ts, name), added=not mine)

    def upload(self, request: HttpRequest) -> HttpResponse:
        """The raw image as the body; `?name=` its file name, `?text=` a comment."""
        name = re.sub(r"[^\w.\- ]", "_", request.query.get("name") or "image.png")[:100]
        mimetype = (request.header("content-type") or "").split(";")[0].strip().lower()
        if not mimetype.startswith("image/"):
            return problem("Only images can be uploaded here (PNG, JPEG, WebP, GIF).", 415)
        if not request.body:
            return problem("The upload was empty.", 400)
        if len(request.body) > MAX_UPLOAD_BYTES:
            return problem(f"Images up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, please.", 413)
        me, channel = self.playground.person, self.playground.channel
        shared = self.slack.add_file(request.body, name, mimetype, me, channel)
        comment = (request.query.get("text") or "").strip()
        delivery = self.slack.post_user_message(channel, me, as_mention(comment), files=[shared])
        note = None if image_search_built() else IMAGES_NOT_BUILT
        return delivered(delivery, **({"note": note} if note else {}))

    def learn(self, request: HttpRequest) -> HttpResponse:
        state = self.playground.learning.start()
        return HttpResponse.json(state, 202 if state["state"] == "running" else 200)

    def learning_state(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(self.playground.learning.state(), headers=NO_CACHE)

    def team(self, request: HttpRequest) -> HttpResponse:
        state = self.playground.team.start()
        return HttpResponse.json(state, 202 if state["state"] == "running" else 409)

    def team_state(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(self.playground.team.state(), headers=NO_CACHE)

    # -- pictures ----------------------------------------------------------------------------

    def star_map(self, request: HttpRequest) -> HttpResponse:
        picture = self.playground.learning.star_map()
        if picture is None:
            return HttpResponse.text("no star map yet", 404)
        return HttpResponse(200, picture, "image/png", dict(NO_CACHE))

    def file(self, request: HttpRequest) -> HttpResponse:
        """An uploaded image, for the page (Slack would show a thumbnail). SVG is not
        served: it can carry script."""
        file_id = request.path.removeprefix(FILES_PATH).split("/", 1)[0]
        try:
            info = self.slack.file_info(file_id)
        except SlackError:
            return HttpResponse.text("no such file", 404)
        mimetype = str(info.get("mimetype") or "")
        if not mimetype.startswith("image/") or "svg" in mimetype:
            return HttpResponse.text("not an image", 404)
        return HttpResponse(200, self.slack.file_content(file_id), mimetype)


def image_search_built() -> bool:
    """Whether this build has the bot's image handler; without it the bot stays silent
    on images, and the page says why rather than leaving the visitor waiting."""
    return importlib.util.find_spec("handlers.images") is not None


def as_mention(text: str) -> str:
    """What Slack's client sends for a message to the bot: the text escaped the Slack
    way, "@argot" as a real mention, and a mention in front if there is none."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = TYPED_MENTION.sub(BOT_MENTION, escaped)
    if BOT_MENTION not in escaped:
        escaped = f"{BOT_MENTION} {escaped}".rstrip()
    return escaped


def delivered(delivery: Delivery, **extra: Any) -> HttpResponse:
    """The page's answer to an action: ok when the bot took the event (HTTP 200)."""
    answer: dict[str, Any] = {"ok": True, **extra}
    if delivery.message is not None:
        answer["ts"] = delivery.message.get("ts")
    if delivery.request is not None and delivery.status != 200:
        return problem(f"The bot answered HTTP {delivery.status}: {delivery.body[:200]}", 502)
    return HttpResponse.json(answer)


def problem(message: str, status: int) -> HttpResponse:
    return HttpResponse.json({"ok": False, "error": message}, status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def static_file(name: str) -> HttpResponse:
    if not STATIC_NAME.match(name):
        return HttpResponse.text("not found", 404)
    path = resources.files("bot.playground").joinpath("static", name)
    if not path.is_file():
        return HttpResponse.text("not found", 404)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or name.endswith(".js"):
        content_type += "; charset=utf-8"
    return HttpResponse(200, path.read_bytes(), content_type, dict(NO_CACHE))


def guarded(action: Route) -> Route:
    """An action whose event the bot could not take says so, instead of an emulator 500."""

    def route(request: HttpRequest) -> HttpResponse:
        try:
            return action(request)
        except httpx.HTTPError as exc:
            return problem(f"The bot did not answer ({exc}). Is it still running?", 502)
        except SlackError as exc:
            return problem(f"Slack answered {exc.code}.", 409)

    return route
