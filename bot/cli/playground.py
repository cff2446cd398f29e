"""`argot demo`: the local playground on the demo knowledge base (see bot/playground/)."""

from __future__ import annotations

import argparse
import os
import threading
import webbrowser
from dataclasses import replace
from typing import Any

from bot.cli.common import say, stop_on_signals
from bot.services import Services
from engine.errors import ArgotError

DEFAULT_PORT = 8765


def cmd_demo(args: argparse.Namespace, services: Services) -> int:
    from bot.playground import Playground
    from bot.playground.demo import KNOWLEDGE_BASE, demo_settings, load_demo

    stop_on_signals()
    # "learn now" is waited for: train with every core (the cycle runs on idle CPU time
    # only), unless ARGOT_TRAIN_THREADS says otherwise.
    settings = demo_settings(services.settings, own_home=not args.in_home)
    services = Services(replace(settings, train_threads=settings.train_threads or os.cpu_count() or 1))
    say(f"loading the demo knowledge base ({KNOWLEDGE_BASE}) into {services.settings.home} …")
    report = load_demo(services, say)
    say(f"demo knowledge base: {report.summary()}")
    say(f"loading model version {services.active_version().name} …")
    services.ready()  # the first question should not wait for the model
    try:
        playground = Playground(services, port=args.port).start()
    except OSError as exc:
        raise ArgotError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; "
                         "pick another --port") from None
    from bot.playground.surfaces import seed_teammate_thread

    seed_teammate_thread(playground)  # something to try "Save to Argot" on
    print(f"Argot playground: {playground.url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        webbrowser.open(playground.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        say("stopping the playground")
    finally:
        playground.stop()
    return 0


def register(sub: Any) -> None:
    demo = sub.add_parser("demo", help="the local playground: one Slack channel in your browser, "
                                       "the real bot behind it, no Slack workspace needed")
    demo.add_argument("--port", type=int, default=DEFAULT_PORT,
                      help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    demo.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    demo.add_argument("--in-home", action="store_true",
                      help="use ARGOT_HOME and DATABASE_URL themselves, not the demo's own "
                           "home ($ARGOT_HOME/demo)")
    demo.set_defaults(run=cmd_demo)
