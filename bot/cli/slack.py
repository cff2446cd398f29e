"""`argot serve`: the Slack bot, in Socket Mode or HTTP mode, with the scheduled jobs."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bot.cli.common import say, stop_on_signals
from bot.services import Services
from bot.settings import SettingsError
from engine.errors import ArgotError

log = logging.getLogger("argot.serve")


def cmd_serve(args: argparse.Namespace, services: Services) -> int:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.app import build_app
    from bot.serving import HttpBot, serve_socket_mode
    from jobs.scheduler import start_jobs

    stop_on_signals()
    settings = services.settings
    http = args.http or not settings.slack_app_token
    settings.require_slack(http=http)
    services.feedback  # noqa: B018 - an unreachable database stops start-up, not the first vote
    try:
        app = build_app(settings, services)
    except BoltError as exc:
        raise SettingsError(f"SLACK_BOT_TOKEN was refused by Slack at {settings.slack_api_url} "
                            f"({exc})") from None
    except OSError as exc:
        raise SettingsError(f"SLACK_API_URL={settings.slack_api_url} cannot be reached: {exc}"
                            ) from None
    say(f"loading model version {services.active_version().name} …")
    services.ready()  # the first question should not wait for the model
    services.images.start()  # loads CLIP; one log line says whether image search is on
    scheduler = None if args.no_jobs else start_jobs(services, client=app.client)
    try:
        if http:
            try:
                bot = HttpBot(app, host=args.host, port=args.port)
            except OSError as exc:
                raise ArgotError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; "
                                 "pick another --port") from None
            say(f"Argot is listening for Slack events at http://{args.host}:{bot.port}/slack/events")
            bot.serve_forever()
        else:
            try:
                serve_socket_mode(app, settings.slack_app_token or "",
                                  on_connected=lambda: say("Argot is connected to Slack in Socket Mode"))
            except SlackApiError as exc:
                raise SettingsError(f"SLACK_APP_TOKEN was refused by Slack "
                                    f"({exc.response.get('error')}): it needs the "
                                    "connections:write scope and Socket Mode turned on") from None
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the Slack bot (Socket Mode, or HTTP with --http)")
    serve.add_argument("--http", action="store_true",
                       help="HTTP mode (POST /slack/events) even when SLACK_APP_TOKEN is set")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="HTTP address (default 127.0.0.1; 0.0.0.0 in a container)")
    serve.add_argument("--no-jobs", action="store_true",
                       help="do not run the scheduled learning jobs in this process")
    serve.set_defaults(run=cmd_serve)
