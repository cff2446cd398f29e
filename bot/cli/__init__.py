"""`argot` — the command line. Each sub-command module registers its own sub-parsers;
each command is a thin layer over engine verbs and returns an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.cli import db, evaluation, glossary, knowledge, learning, playground, slack
from bot.cli.common import say
from bot.home import keep_private
from engine.errors import ArgotError

MODULES = [knowledge, slack, evaluation, learning, glossary, playground, db]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="argot", description="Argot: a Slack bot that learns your team's jargon.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from bot.services import Services
    from bot.settings import Settings

    try:
        settings = Settings.load()
        keep_private(settings.home)
        services = Services(settings)
        return int(args.run(args, services))
    except ArgotError as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
